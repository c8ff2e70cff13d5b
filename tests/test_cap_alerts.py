"""CAP 1.2 alerts out: valid against the OASIS schemas (checked here with lxml against
the copies in dispatch/interop/schemas/), in Bahasa Indonesia, with the incident's
kelurahan and kecamatan as polygons with names and codes; Update and Cancel reference the
message they replace; the public Atom feed lists what is in force."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from lxml import etree

from dispatch.interop.cap_xml import SCHEMAS

CAP = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
ATOM = {"a": "http://www.w3.org/2005/Atom"}
MENTIKAN = {"lat": -7.47, "lon": 112.43}
ALERT = {"headline": "Kebakaran gudang di Mentikan",
         "instruction": "Jauhi lokasi kebakaran dan beri jalan bagi mobil pemadam.",
         "severity": "Severe", "urgency": "Immediate", "certainty": "Observed"}
PLAIN = etree.XMLSchema(etree.parse(str(SCHEMAS / "CAP-v1.2.xsd")))
STRICT = etree.XMLSchema(etree.parse(str(SCHEMAS / "CAP-v1.2-extended.xsd")))


async def _incident(client: httpx.AsyncClient, operator: dict, **location: float) -> dict:
    body = {"caller_number": f"+62816{uuid.uuid4().int % 10**7:07d}", "category": "fire"}
    if location:
        body["location"] = location
    response = await client.post("/v1/calls", headers=operator, json=body)
    assert response.status_code == 201, response.text
    return response.json()["incident"]


async def _cap(client: httpx.AsyncClient, url: str) -> etree._Element:
    response = await client.get(url)  # no token: public
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/cap+xml")
    root = etree.fromstring(response.content)
    for schema in (PLAIN, STRICT):
        assert schema.validate(root), schema.error_log
    return root


def _text(root: etree._Element, path: str) -> str:
    return str(root.findtext(path, namespaces=CAP))


async def test_alert_is_valid_cap_in_indonesian_with_area_polygons(
    client: httpx.AsyncClient, operator: dict, supervisor: dict
) -> None:
    incident = await _incident(client, operator, **MENTIKAN)
    response = await client.post(f"/v1/incidents/{incident['id']}/alerts", headers=supervisor,
                                 json=ALERT)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["msg_type"] == "Alert" and receipt["references"] is None
    assert receipt["url"].endswith(f"/v1/alerts/{receipt['identifier']}")
    root = await _cap(client, f"/v1/alerts/{receipt['identifier']}")
    assert _text(root, "cap:identifier") == receipt["identifier"]
    assert (_text(root, "cap:status"), _text(root, "cap:msgType"), _text(root, "cap:scope")) \
        == ("Actual", "Alert", "Public")
    assert _text(root, "cap:incidents") == incident["number"]
    assert _text(root, "cap:sent").endswith("+07:00")  # the center's zone, CAP's pattern
    assert _text(root, "cap:info/cap:language") == "id-ID"
    assert _text(root, "cap:info/cap:category") == "Fire"
    assert _text(root, "cap:info/cap:event") == "Kebakaran"
    assert _text(root, "cap:info/cap:headline") == ALERT["headline"]
    assert _text(root, "cap:info/cap:severity") == "Severe"
    areas = root.findall("cap:info/cap:area", CAP)
    described = {_text(a, "cap:areaDesc"): _text(a, "cap:geocode/cap:value") for a in areas}
    assert described == {"Kelurahan Mentikan": incident["area"]["kelurahan"]["code"],
                         "Kecamatan Prajuritkulon": incident["area"]["kecamatan"]["code"]}
    for area in areas:
        assert _text(area, "cap:geocode/cap:valueName") == "KEMENDAGRI"
        polygons = [p.text.split() for p in area.findall("cap:polygon", CAP)]
        assert polygons
        for points in polygons:
            assert len(points) >= 4 and points[0] == points[-1]
            for point in points:
                lat, lon = map(float, point.split(","))
                assert -7.6 < lat < -7.3 and 112.3 < lon < 112.6  # lat,lon order


async def test_update_and_cancel_reference_the_message_they_replace(
    client: httpx.AsyncClient, operator: dict, supervisor: dict
) -> None:
    incident = await _incident(client, operator, **MENTIKAN)
    first = (await client.post(f"/v1/incidents/{incident['id']}/alerts", headers=supervisor,
                               json=ALERT)).json()
    first_doc = await _cap(client, first["url"])
    update = await client.post(f"/v1/alerts/{first['identifier']}/update", headers=supervisor,
                               json={"severity": "Moderate",
                                     "headline": "Kebakaran gudang mulai padam"})
    assert update.status_code == 201, update.text
    updated = update.json()
    assert updated["msg_type"] == "Update" and updated["references"] == first["identifier"]
    doc = await _cap(client, updated["url"])
    assert _text(doc, "cap:msgType") == "Update"
    assert _text(doc, "cap:references") == (f"{_text(first_doc, 'cap:sender')},"
                                            f"{first['identifier']},"
                                            f"{_text(first_doc, 'cap:sent')}")
    assert _text(doc, "cap:info/cap:severity") == "Moderate"
    assert _text(doc, "cap:info/cap:instruction") == ALERT["instruction"]  # kept

    stale = await client.post(f"/v1/alerts/{first['identifier']}/update", headers=supervisor,
                              json={"severity": "Minor"})
    assert stale.status_code == 409 and stale.json()["superseded_by"] == updated["identifier"]
    cancel = await client.post(f"/v1/alerts/{updated['identifier']}/cancel", headers=supervisor)
    assert cancel.status_code == 201, cancel.text
    cancelled = await _cap(client, cancel.json()["url"])
    assert _text(cancelled, "cap:msgType") == "Cancel"
    assert updated["identifier"] in _text(cancelled, "cap:references")
    again = await client.post(f"/v1/alerts/{cancel.json()['identifier']}/cancel",
                              headers=supervisor)
    assert again.status_code == 409
    assert (await client.post("/v1/alerts/NO-SUCH-ALERT/cancel",
                              headers=supervisor)).status_code == 404
    assert (await client.get("/v1/alerts/NO-SUCH-ALERT")).status_code == 404
    await _cap(client, first["url"])  # the original stays readable as published


async def test_atom_feed_lists_the_alerts_in_force(
    client: httpx.AsyncClient, operator: dict, supervisor: dict
) -> None:
    incident = await _incident(client, operator, **MENTIKAN)
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    brief = (await client.post(f"/v1/incidents/{incident['id']}/alerts", headers=supervisor,
                               json={**ALERT, "expires": soon})).json()
    lasting = (await client.post(f"/v1/incidents/{incident['id']}/alerts", headers=supervisor,
                                 json=ALERT)).json()
    replaced = (await client.post(f"/v1/incidents/{incident['id']}/alerts",
                                  headers=supervisor, json=ALERT)).json()
    newer = (await client.post(f"/v1/alerts/{replaced['identifier']}/update",
                               headers=supervisor, json={"urgency": "Expected"})).json()
    await asyncio.sleep(2.5)
    response = await client.get("/v1/alerts")  # no token
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.content)
    links = {e.find("a:link", ATOM).get("href").rsplit("/", 1)[1]: e
             for e in feed.findall("a:entry", ATOM)}
    assert lasting["identifier"] in links and newer["identifier"] in links
    assert brief["identifier"] not in links  # expired: dropped by itself
    assert replaced["identifier"] not in links  # superseded by its update
    entry = links[lasting["identifier"]]
    assert entry.findtext("a:title", namespaces=ATOM) == ALERT["headline"]
    assert entry.find("a:link", ATOM).get("type") == "application/cap+xml"
    assert feed.findtext("a:author/a:name", namespaces=ATOM)


async def test_refused_alerts(client: httpx.AsyncClient, operator: dict,
                              supervisor: dict) -> None:
    incident = await _incident(client, operator, **MENTIKAN)
    url = f"/v1/incidents/{incident['id']}/alerts"
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert (await client.post(url, headers=supervisor,
                              json={**ALERT, "expires": past})).status_code == 422
    far = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    assert (await client.post(url, headers=supervisor,
                              json={**ALERT, "expires": far})).status_code == 422
    assert (await client.post(url, headers=supervisor,
                              json={**ALERT, "severity": "Huge"})).status_code == 422
    bell = await client.post(url, headers=supervisor, json={**ALERT, "headline": "bel\x07"})
    assert bell.status_code == 422, bell.text
    nowhere = await _incident(client, operator)
    assert nowhere["location"] is None
    response = await client.post(f"/v1/incidents/{nowhere['id']}/alerts", headers=supervisor,
                                 json=ALERT)
    assert response.status_code == 409, response.text
    assert (await client.post(f"/v1/incidents/{uuid.uuid4()}/alerts", headers=supervisor,
                              json=ALERT)).status_code == 404
    assert (await client.post(url, headers=operator, json=ALERT)).status_code == 403


async def test_an_alert_can_be_cancelled_after_its_incident_left_the_region(
    client: httpx.AsyncClient, operator: dict, supervisor: dict
) -> None:
    """The Cancel names the areas the alert announced, even when the incident has no
    place in the region any more (its location corrected to somewhere else)."""
    incident = await _incident(client, operator, **MENTIKAN)
    first = (await client.post(f"/v1/incidents/{incident['id']}/alerts", headers=supervisor,
                               json=ALERT)).json()
    announced = {a.findtext("cap:geocode/cap:value", namespaces=CAP)
                 for a in (await _cap(client, first["url"])).iterfind(
                     "cap:info/cap:area", namespaces=CAP)}
    moved = await client.patch(f"/v1/incidents/{incident['id']}", headers=operator,
                               json={"location": {"lat": -6.2, "lon": 106.8}})  # Jakarta
    assert moved.status_code == 200, moved.text
    update = await client.post(f"/v1/alerts/{first['identifier']}/update",
                               headers=supervisor, json={"severity": "Minor"})
    assert update.status_code == 409  # an update needs the incident's place now
    cancel = await client.post(f"/v1/alerts/{first['identifier']}/cancel", headers=supervisor)
    assert cancel.status_code == 201, cancel.text
    cancelled = await _cap(client, cancel.json()["url"])
    assert {a.findtext("cap:geocode/cap:value", namespaces=CAP)
            for a in cancelled.iterfind("cap:info/cap:area", namespaces=CAP)} == announced
    assert announced
