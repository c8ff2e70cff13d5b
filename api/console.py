"""The browser console (`console/` at the top of the tree): static pages and ES modules
served under `/console/`, a client of the public API like any other (CONSOLE.md).

Pages: `/console/` (log in), `/console/agency`, `/console/operator`, `/console/supervisor`,
`/console/wall`, `/console/admin` (accounts), `/console/password` (one's own); every other
file by its path below `console/`, only with the suffixes of
`MEDIA_TYPES`, never a hidden file, never outside the folder. Every answer under
`/console` (a 404 or 405 too) carries `SECURITY_HEADERS`: a Content-Security-Policy that
allows scripts, styles, images and connections (WebSockets included) from this origin only
(no inline script, no framing), `nosniff` and no referrer. Files are revalidated on every
load (`no-cache`, with FileResponse's ETag), so an update of the console is seen at once."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from api.problems import problem


def _console_dir() -> Path:
    """`console/` beside the `api` package (a checkout, an editable install), else in the
    working directory (an installed package run from the project's folder, as the
    Dockerfile's /app)."""
    beside = Path(__file__).resolve().parent.parent / "console"
    return beside if beside.is_dir() else (Path.cwd() / "console").resolve()


CONSOLE_DIR = _console_dir()
PAGES = {
    "": "index.html",
    "agency": "agency.html",
    "operator": "operator.html",
    "supervisor": "supervisor.html",
    "wall": "wall.html",
    "admin": "admin.html",
    "password": "password.html",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",  # Chromium's 'self' covers ws: to the same host (CSP 3)
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Cache-Control": "no-cache",
}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

router = APIRouter(include_in_schema=False)


def console_file(path: str) -> Path | None:
    """The file a console path names (a page name or a file path), or None when there is
    none that may be served."""
    relative = PAGES.get(path.strip("/"), path)
    if any(part.startswith(".") for part in Path(relative).parts):
        return None
    file = (CONSOLE_DIR / relative).resolve()
    if not file.is_relative_to(CONSOLE_DIR) or file.suffix not in MEDIA_TYPES:
        return None
    return file if file.is_file() else None


def _with_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@router.api_route("/console", methods=METHODS)
async def console_root(request: Request) -> Response:
    """`/console` → `/console/` (the log-in page), keeping the query (`?lang=en`)."""
    query = request.url.query
    return _with_headers(RedirectResponse("/console/" + (f"?{query}" if query else "")))


@router.api_route("/console/{path:path}", methods=METHODS)
async def serve_console(request: Request, path: str) -> Response:
    """A console page or file."""
    if request.method not in ("GET", "HEAD"):
        return _with_headers(problem(405, "the console's files are read-only",
                                     headers={"Allow": "GET, HEAD"}))
    file = console_file(path)
    if file is None:
        return _with_headers(problem(404, f"no console file at /console/{path}"))
    return _with_headers(FileResponse(file, media_type=MEDIA_TYPES[file.suffix]))
