"""The console's files as shipped: vendored Leaflet unchanged (SHA256SUMS), and sources
that load nothing from another host and hold no inline script or style (the CSP would
refuse them in the browser)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from api.console import CONSOLE_DIR

LEAFLET = CONSOLE_DIR / "vendor" / "leaflet"
OWN_SOURCES = sorted(p for p in CONSOLE_DIR.rglob("*")
                     if p.suffix in {".html", ".js", ".css", ".svg"} and "vendor" not in p.parts)
HTML_PAGES = sorted(CONSOLE_DIR.glob("*.html"))


def test_vendored_leaflet_matches_its_sums() -> None:
    listed = {}
    for line in (LEAFLET / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name] = digest
    for name, digest in listed.items():
        assert hashlib.sha256((LEAFLET / name).read_bytes()).hexdigest() == digest, name
    shipped = {str(p.relative_to(LEAFLET)) for p in LEAFLET.rglob("*") if p.is_file()}
    assert shipped - set(listed) == {"README.md", "SHA256SUMS"}, shipped - set(listed)
    assert {"leaflet.js", "leaflet.css", "LICENSE", "images/layers.png"} <= set(listed)
    readme = (LEAFLET / "README.md").read_text()
    assert "version 1.9.4" in readme and "sha512-" in readme
    assert 't.version="1.9.4"' in (LEAFLET / "leaflet.js").read_text()


@pytest.mark.parametrize("path", OWN_SOURCES, ids=lambda p: str(p.relative_to(CONSOLE_DIR)))
def test_sources_name_no_other_host(path: Path) -> None:
    text = path.read_text()
    urls = re.findall(r"\b(?:https?:|wss?:)?//[\w.-]+\.[a-z]{2,}", text)
    urls = [u for u in urls if u != "http://www.w3.org"]  # the SVG namespace, not a request
    assert not urls, urls
    assert "@import" not in text and "fonts.googleapis" not in text


@pytest.mark.parametrize("path", HTML_PAGES, ids=lambda p: p.name)
def test_pages_hold_no_inline_script_or_style(path: Path) -> None:
    html = path.read_text()
    for script in re.findall(r"<script\b[^>]*>", html):
        assert re.search(r'\bsrc="/console/[^"]+\.js"', script), script
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "inline script"
    assert "<style" not in html
    assert not re.search(r"\s(on\w+|style)=", html), "inline handler or style attribute"
    assert re.search(r'<script type="module" src="/console/js/[\w/]+\.js"></script>', html)
