"""`/docs` works on a closed network: the page loads Swagger UI from the service itself,
and the vendored files are exactly the ones recorded in their SHA256SUMS."""

from __future__ import annotations

import hashlib
import re

import httpx

from api.docs import ASSETS


def test_vendored_swagger_ui_matches_its_checksums() -> None:
    sums = (ASSETS / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 4
    for line in sums:
        digest, name = line.split()
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (ASSETS / "LICENSE").read_text()


async def test_docs_page_and_assets_come_from_the_service(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls, page.text[:500]
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    for url in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css",
                "/docs-assets/favicon-32x32.png"):
        assert url in urls
        asset = await client.get(url)
        name = url.rsplit("/", 1)[1]
        assert asset.status_code == 200 and asset.content == (ASSETS / name).read_bytes()
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
    assert (await client.get("/redoc")).status_code == 404  # it would load from a CDN
    schema = (await client.get("/openapi.json")).json()
    assert "/docs" not in schema["paths"]
