"""What reaches the logs: no traceback under normal use, no bearer token, no full caller
number, on every logger, in text and in JSON (dispatch/core/logs.py).

The end-to-end tests run a real `dispatch serve` (uvicorn as installed from uv.lock),
drive HTTP and WebSocket traffic through it and read everything it printed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from pathlib import Path

import httpx
import pytest
import websockets
from uvicorn.logging import AccessFormatter

from dispatch.core.logs import JsonFormatter, RedactFilter, TextFormatter, mask_numbers, redact
from tests.servers import dispatch_serve
from tests.support import load_demo_into

CALLER = "+6281234567890"
LOCAL_CALLER = "081298765432"
JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+")


@pytest.mark.parametrize(("text", "masked"), [
    ("caller +6281234567890 called", "caller +6281******890 called"),
    ("GET /v1/aml?caller_number=%2B6281355500002 HTTP/1.1",
     "GET /v1/aml?caller_number=%2B62********002 HTTP/1.1"),
    ("local 081234567890.", "local 08123****890."),
    ("seq 123456789012 is not a phone", "seq 123456789012 is not a phone"),
])
def test_caller_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_numbers(text) == masked


@pytest.mark.parametrize(("text", "clean"), [
    ("WebSocket /v1/feed?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln&since=4",
     "WebSocket /v1/feed?token=[redacted]&since=4"),
    ("/v1/agencies/X/feed?since=3&token=abc.def.ghi",
     "/v1/agencies/X/feed?since=3&token=[redacted]"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
     "Authorization: Bearer [redacted]"),
    ("bare eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln in a message", "bare [redacted] in a message"),
    ("GET /v1/calls?limit=5 HTTP/1.1", "GET /v1/calls?limit=5 HTTP/1.1"),
    ("GET /osmand?id=tracker-secret-0001&lat=-7.46&lon=112.44",
     "GET /osmand?id=[redacted]&lat=-7.46&lon=112.44"),
    ("GET /osmand?lat=-7.46&deviceid=tracker-secret-0001",
     "GET /osmand?lat=-7.46&deviceid=[redacted]"),
    ("GET /v1/units?unit_id=5&valid=1", "GET /v1/units?unit_id=5&valid=1"),
])
def test_tokens_are_redacted(text: str, clean: str) -> None:
    assert redact(text) == clean


def _access_record() -> logging.LogRecord:
    """A record as uvicorn's access logger makes it: five positional arguments."""
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, "h11_impl.py", 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/v1/feed?token=eyJa.eyJb.c2ln&caller={CALLER}", "1.1",
         200), None)


def test_the_filter_keeps_uvicorns_access_arguments_a_tuple() -> None:
    """uvicorn's AccessFormatter unpacks record.args: redacting must keep the tuple (the
    old mask set it to None, and every request printed a logging-error traceback)."""
    record = _access_record()
    assert RedactFilter().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                           use_colors=False).format(record)
    assert line == '127.0.0.1:5000 - "GET /v1/feed?token=[redacted]&caller=+6281******890 ' \
                   'HTTP/1.1" 200 OK'


def test_the_formatters_redact_exception_texts_too() -> None:
    try:
        raise ValueError(f"bad caller {CALLER} with Bearer eyJa.eyJb.c2ln")
    except ValueError:
        record = logging.LogRecord("siaga112", logging.ERROR, "x.py", 1, "failed", (),
                                   __import__("sys").exc_info())
    for formatter in (TextFormatter(), JsonFormatter()):
        out = formatter.format(record)
        assert "ValueError" in out and CALLER not in out and "eyJa" not in out


def test_json_lines_carry_the_fields_log_shippers_need() -> None:
    record = logging.LogRecord("siaga112.feed", logging.WARNING, "x.py", 1, "lag %d", (7,),
                               None)
    RedactFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert {k: entry[k] for k in ("level", "logger", "message")} == {
        "level": "WARNING", "logger": "siaga112.feed", "message": "lag 7"}
    assert "time" in entry and "request_id" in entry


async def _traffic(base_url: str) -> None:
    """What an operator, an agency and a stranger do: log in, register calls, read them,
    watch a feed with ?token=, get 401/404/422 answers."""
    ws_base = base_url.replace("http://", "ws://")
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as api:
        tokens = {}
        for name in ("operator", "polsek-prajuritkulon"):
            response = await api.post("/auth/token", data={
                "username": name, "password": f"{name}-demo-112"})
            assert response.status_code == 200
            tokens[name] = response.json()["access_token"]
        operator = {"Authorization": f"Bearer {tokens['operator']}"}
        feed = (f"{ws_base}/v1/agencies/POLSEK-PRAJURITKULON/feed"
                f"?token={tokens['polsek-prajuritkulon']}")
        async with websockets.connect(feed) as ws:
            await asyncio.sleep(0.2)
            created = await api.post("/v1/calls", headers=operator, json={
                "caller_number": CALLER, "category": "crime",
                "location": {"lat": -7.4720, "lon": 112.4300}})
            assert created.status_code == 201
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert frame["type"] == "assignment.created"
        local = await api.post("/v1/calls", headers=operator,
                               json={"caller_number": LOCAL_CALLER})
        assert local.status_code == 201
        assert (await api.get(f"/v1/calls/{created.json()['id']}",
                              headers=operator)).status_code == 200
        assert (await api.get(f"/v1/calls?caller={CALLER}", headers=operator)).status_code \
            == 200
        assert (await api.get("/v1/calls", headers={
            "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"})
        ).status_code == 401
        assert (await api.get("/v1/incidents/00000000-0000-0000-0000-000000000000",
                              headers=operator)).status_code == 404
        assert (await api.post("/v1/calls", headers=operator, json={
            "caller_number": CALLER, "category": 7})).status_code == 422
        with contextlib.suppress(websockets.ConnectionClosed):
            async with websockets.connect(f"{ws_base}/v1/feed?token=not.a.token") as ws:
                await ws.recv()


def _assert_clean(log: str) -> None:
    assert "Traceback" not in log, log[-3000:]
    assert "Logging error" not in log, log[-3000:]
    assert not JWT.search(log), JWT.search(log)
    for number in (CALLER, CALLER[1:], LOCAL_CALLER, "6281298765432"):
        assert number not in log


async def test_a_served_process_logs_no_traceback_token_or_number(
    make_database, tmp_path: Path
) -> None:
    database_url = await make_database(migrated=True)
    await load_demo_into(database_url)
    async with dispatch_serve(database_url, tmp_path / "serve.log",
                              env={"DISPATCH_LOG_LEVEL": "INFO"}) as served:
        await _traffic(served.base_url)
    log = served.log()
    _assert_clean(log)
    assert "POST /v1/calls" in log  # the access log is there, and readable
    assert "token=[redacted]" in log  # the WebSocket's path was logged, without its token


async def test_json_logs_are_one_object_per_line(make_database, tmp_path: Path) -> None:
    database_url = await make_database(migrated=True)
    await load_demo_into(database_url)
    async with dispatch_serve(database_url, tmp_path / "serve.log", env={
            "DISPATCH_LOG_LEVEL": "INFO", "DISPATCH_LOG_FORMAT": "json"}) as served:
        await _traffic(served.base_url)
    log = served.log()
    _assert_clean(log)
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert entries
    for entry in entries:
        assert {"time", "level", "logger", "message", "request_id"} <= entry.keys()
    requests = [e for e in entries if "POST /v1/calls" in e["message"]]
    assert requests and all(e["request_id"] for e in requests)
    assert len({e["request_id"] for e in requests}) == len(requests)
