"""Hazard warnings in (CAP 1.2, BMKG's nowcast): stored with the region's areas they
touch, listed while in force, superseded by an Update, announced on the supervisors'
feed only; anything that is not CAP (hostile XML included) is a 422 that stores nothing.

The samples in tests/data/bmkg_*.xml carry fixed times; `shifted` moves them to now."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets
from lxml import etree

from api.app import create_app
from dispatch.core.databases import plain_url
from dispatch.core.errors import Invalid
from dispatch.interop.cap_xml import CAP_NS, MAX_CAP_BYTES
from dispatch.interop.hazards import parse_warning
from tests.support import load_demo_into, login, make_settings, serving

DATA = Path(__file__).parent / "data"
NS = {"cap": CAP_NS}
PACET, TRAWAS, GONDANG = "35.16.03", "35.16.04", "35.16.02"


def shifted(name: str, *, identifier: str, minutes: int = 0, hours_left: float = 2.0,
            references: str | None = None) -> bytes:
    """A sample with `identifier`, sent `minutes` from now and expiring `hours_left`
    after that."""
    tree = etree.parse(str(DATA / name))
    root = tree.getroot()
    sent = (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)
    root.find("cap:identifier", NS).text = identifier
    root.find("cap:sent", NS).text = sent.isoformat()
    if references is not None:
        root.find("cap:references", NS).text = references
    for info in root.findall("cap:info", NS):
        for field in ("onset", "effective"):
            element = info.find(f"cap:{field}", NS)
            if element is not None:
                element.text = sent.isoformat()
        info.find("cap:expires", NS).text = (sent + timedelta(hours=hours_left)).isoformat()
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
async def own_db(make_database) -> str:
    """Warnings persist and are listed whole: these tests get a database of their own."""
    url = await make_database(migrated=True)
    await load_demo_into(url)
    return url


@pytest.fixture(scope="module")
async def server(own_db: str) -> AsyncIterator[str]:
    async for address in serving(create_app(make_settings(own_db))):
        yield address


@pytest.fixture(scope="module")
async def api(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{server}", timeout=30) as client:
        yield client


async def _count(url: str) -> int:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM hazard_warnings"))
    finally:
        await conn.close()


async def _post(api: httpx.AsyncClient, headers: dict, body: bytes) -> httpx.Response:
    return await api.post("/v1/warnings", content=body,
                          headers={**headers, "Content-Type": "application/cap+xml"})


async def test_nowcast_is_stored_with_its_areas_and_listed_while_in_force(
    api: httpx.AsyncClient, own_db: str
) -> None:
    gateway, supervisor = await login(api, "aml-gateway"), await login(api, "supervisor")
    body = shifted("bmkg_nowcast_mojokerto.xml", identifier="CJI-AREAS-1")
    response = await _post(api, gateway, body)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["identifier"] == "CJI-AREAS-1" and stored["sender"] == "BMKG"
    assert stored["event"].startswith("Hujan Lebat")  # the Indonesian <info>
    kecamatan = {a["code"]: a["name"] for a in stored["areas"] if a["level"] == "kecamatan"}
    assert kecamatan[PACET] == "Pacet" and kecamatan[TRAWAS] == "Trawas"
    kelurahan = [a for a in stored["areas"] if a["level"] == "kelurahan"]
    assert kelurahan and all(a["code"][:8] in kecamatan for a in kelurahan)
    assert stored["geometry"]["type"] == "MultiPolygon" and stored["active"] is True

    listed = await api.get("/v1/warnings?active=true", headers=supervisor)
    assert listed.status_code == 200, listed.text
    assert "CJI-AREAS-1" in [w["identifier"] for w in listed.json()["items"]]
    again = await _post(api, gateway, body)
    assert again.status_code == 409, again.text


async def test_update_supersedes_and_expired_warnings_drop_off(api: httpx.AsyncClient) -> None:
    admin, operator = await login(api, "admin"), await login(api, "operator")
    first = shifted("bmkg_nowcast_mojokerto.xml", identifier="CJI-UPD-1", minutes=-10)
    assert (await _post(api, admin, first)).status_code == 201
    sent = etree.fromstring(first).find("cap:sent", NS).text
    update = shifted("bmkg_nowcast_update.xml", identifier="CJI-UPD-2",
                     references=f"BMKG,CJI-UPD-1,{sent}")
    response = await _post(api, admin, update)
    assert response.status_code == 201, response.text
    assert GONDANG in {a["code"] for a in response.json()["areas"]}  # the circle
    expired = shifted("bmkg_nowcast_by_name.xml", identifier="CJI-OLD", minutes=-300,
                      hours_left=1)
    assert (await _post(api, admin, expired)).status_code == 201

    active = {w["identifier"] for w in
              (await api.get("/v1/warnings?active=true", headers=operator)).json()["items"]}
    assert "CJI-UPD-2" in active
    assert not {"CJI-UPD-1", "CJI-OLD"} & active
    past = {w["identifier"]: w for w in
            (await api.get("/v1/warnings?active=false", headers=operator)).json()["items"]}
    assert {"CJI-UPD-1", "CJI-OLD"} <= set(past)
    assert past["CJI-OLD"]["active"] is False


async def test_areas_by_name_and_outside_the_region(api: httpx.AsyncClient) -> None:
    gateway = await login(api, "aml-gateway")
    named = await _post(api, gateway, shifted("bmkg_nowcast_by_name.xml", identifier="CJI-N"))
    assert named.status_code == 201, named.text
    assert {a["name"] for a in named.json()["areas"]} == {"Mojosari", "Ngoro"}
    assert named.json()["geometry"] is None
    away = await _post(api, gateway, shifted("bmkg_nowcast_elsewhere.xml", identifier="CJI-X"))
    assert away.status_code == 201, away.text
    assert away.json()["areas"] == []


async def test_only_supervisors_feed_carries_warning_received(
    server: str, api: httpx.AsyncClient, own_db: str
) -> None:
    supervisor = (await login(api, "supervisor"))["Authorization"][7:]
    gateway = await login(api, "aml-gateway")
    async with websockets.connect(f"ws://{server}/v1/feed?token={supervisor}") as ws:
        await asyncio.sleep(0.3)
        body = shifted("bmkg_nowcast_mojokerto.xml", identifier="CJI-FEED-1")
        assert (await _post(api, gateway, body)).status_code == 201
        async with asyncio.timeout(10):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "warning.received":
                    break
    assert frame["warning"]["identifier"] == "CJI-FEED-1"
    assert frame["incident"] is None and frame["assignment"] is None
    conn = await asyncpg.connect(plain_url(own_db))
    try:
        codes = await conn.fetchval(
            "SELECT agency_codes FROM events WHERE type = 'warning.received' "
            "AND after->>'identifier' = 'CJI-FEED-1'")
        outside = await conn.fetchval(
            "SELECT count(*) FROM events WHERE type = 'warning.received' "
            "AND after->>'identifier' = 'CJI-X'")
    finally:
        await conn.close()
    assert codes == [] and outside == 0  # no agency feed; nothing for the rest of Java


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""
EXTERNAL_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""
EXTERNAL_URL = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>"""
DEEP = b"<a>" * 5000 + b"</a>" * 5000


def _sample_with(old: bytes, new: bytes) -> bytes:
    body = shifted("bmkg_nowcast_mojokerto.xml", identifier="CJI-BAD")
    assert old in body
    return body.replace(old, new, 1)


HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "external entity (file)": EXTERNAL_FILE,
    "external parameter entity (network)": EXTERNAL_URL,
    "external DTD": EXTERNAL_DTD,
    "deeply nested": DEEP,
    "not XML": b"this is not xml at all",
    "JSON": b'{"identifier": "CJI-1"}',
    "empty": b"",
    "truncated": shifted("bmkg_nowcast_mojokerto.xml", identifier="CJI-T")[:400],
    "not UTF-8": b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>\xff\xfe</alert>",
    "not CAP (namespace)": b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>',
    "CAP without scope": _sample_with(b"<scope>Public</scope>", b""),
    "bad severity": _sample_with(b"<severity>Moderate</severity>",
                                 b"<severity>Dahsyat</severity>"),
    "polygon off the globe": _sample_with(b"-7.6450,112.5050 -7.6450", b"-97.6,112.5050 -7.6450"),
    "polygon not closed": _sample_with(b"-7.7150,112.5050 -7.6450,112.5050</polygon>",
                                       b"-7.7150,112.5050</polygon>"),
    "polygon text": _sample_with(b"-7.6450,112.5050 -7.6450", b"utara,barat -7.6450"),
    "circle garbage": shifted("bmkg_nowcast_update.xml", identifier="CJI-C").replace(
        b"-7.6760,112.4820 3.5", b"-7.6760,112.4820 tiga"),
    "test message": _sample_with(b"<status>Actual</status>", b"<status>Test</status>"),
    "identifier too long": _sample_with(b"<identifier>CJI-BAD</identifier>",
                                        b"<identifier>" + b"C" * 250 + b"</identifier>"),
}


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_malformed_and_hostile_xml_is_422_and_stores_nothing(
    api: httpx.AsyncClient, own_db: str, body: bytes
) -> None:
    gateway = await login(api, "aml-gateway")
    before = await _count(own_db)
    response = await _post(api, gateway, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "root:" not in response.text  # no file content echoed back
    assert await _count(own_db) == before


async def test_oversize_is_refused_before_parsing(api: httpx.AsyncClient, own_db: str) -> None:
    gateway = await login(api, "aml-gateway")
    before = await _count(own_db)
    padding = b"<!--" + b"x" * (MAX_CAP_BYTES + 10) + b"-->"
    body = shifted("bmkg_nowcast_mojokerto.xml", identifier="CJI-BIG").replace(
        b"<alert", padding + b"<alert", 1)
    assert (await _post(api, gateway, body)).status_code == 413  # the body limit
    with pytest.raises(Invalid):
        parse_warning(body)  # and the parser's own limit, for the CLI
    assert await _count(own_db) == before


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DISPATCH_SECRET_KEY": "k" * 40}
    return subprocess.run([sys.executable, "-m", "dispatch.tools.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


async def test_cli_imports_a_warning(tmp_path: Path, own_db: str,
                                     api: httpx.AsyncClient) -> None:
    sample = tmp_path / "nowcast.xml"
    sample.write_bytes(shifted("bmkg_nowcast_mojokerto.xml", identifier="CJI-CLI-1"))
    result = await asyncio.to_thread(_cli, own_db, "warnings", "import", str(sample))
    assert result.returncode == 0, result.stderr
    assert "CJI-CLI-1" in result.stdout and "Pacet" in result.stdout
    hostile = tmp_path / "lol.xml"
    hostile.write_bytes(BILLION_LAUGHS)
    refused = await asyncio.to_thread(_cli, own_db, "warnings", "import", str(hostile))
    assert refused.returncode == 1 and "DOCTYPE" in refused.stderr
    listed = await api.get("/v1/warnings?active=true", headers=await login(api, "operator"))
    assert "CJI-CLI-1" in [w["identifier"] for w in listed.json()["items"]]


@pytest.mark.parametrize("doctype", [
    b'<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE alert [<!ENTITY lol "lol"><!ENTITY xxe "&lol;&lol;&lol;&lol;&lol;">]>',
    b'<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;'
    b'<!ENTITY xxe "x">]>',
], ids=["file entity", "nested entities", "network parameter entity"])
async def test_an_entity_inside_a_valid_warning_is_refused_for_its_doctype(
    api: httpx.AsyncClient, own_db: str, doctype: bytes
) -> None:
    """The hostile part inside an otherwise valid CAP document: the refusal must come from
    the DOCTYPE rule, not from the schema (which a bare hostile document fails anyway)."""
    body = shifted("bmkg_nowcast_mojokerto.xml", identifier="CJI-ENTITY")
    body = body.replace(b"?>\n", b"?>\n" + doctype + b"\n", 1).replace(
        b"<headline>Peringatan Dini Cuaca Jawa Timur</headline>",
        b"<headline>&xxe;</headline>", 1)
    gateway = await login(api, "aml-gateway")
    before = await _count(own_db)
    response = await _post(api, gateway, body)
    assert response.status_code == 422, response.text
    assert "DOCTYPE" in response.json()["detail"]
    assert "root:" not in response.text
    assert await _count(own_db) == before
