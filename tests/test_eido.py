"""EIDO export: `GET /v1/incidents/{id}/eido` is a NENA EIDO 1.0 document.

Validity is checked against our own models of NENA's schema (dispatch/interop/
eido_schema.py: the schema's required members and types, unknown members refused), and
against the JSON Schema those models generate; nothing is fetched from the network (NENA's
files may not be copied here: docs/EIDO.md says how the models were checked against the
real schema). Besides: every `$ref` points at a component of the document, `$id`s are
unique, locations are PIDF-LO, visibility is the incident's, and every value of ours has
a registry mapping that docs/EIDO.md documents."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
from lxml import etree

from dispatch.core.agency_kinds import AGENCY_KINDS
from dispatch.interop import registries as reg
from dispatch.interop.eido_schema import EidoDocument
from dispatch.models import DISPOSITIONS, INCIDENT_STATUSES
from dispatch.units.lifecycle import UNIT_KINDS, UNIT_STATUSES
from tests.support import login

ROOT = Path(__file__).resolve().parents[1]
MENTIKAN = {"lat": -7.47, "lon": 112.43}
AGENCY_A = "POLSEK-PRAJURITKULON"
PIDF = {"p": "urn:ietf:params:xml:ns:pidf", "gp": "urn:ietf:params:xml:ns:pidf:geopriv10",
        "gml": "http://www.opengis.net/gml", "gs": "http://www.opengis.net/pidflo/1.0"}
SCHEMA = jsonschema_rs.validator_for(
    EidoDocument.model_json_schema(mode="serialization"), validate_formats=True)


def _number() -> str:
    return f"+62817{uuid.uuid4().int % 10**7:07d}"


def check_document(document: dict[str, Any]) -> EidoDocument:
    """Valid against the models and their JSON Schema; references all resolve."""
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
              for e in SCHEMA.iter_errors(document)]
    assert not errors, errors
    parsed = EidoDocument.model_validate(document)
    assert parsed.document() == document  # nothing outside the models
    ids: list[str] = []
    refs: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "$id" in value:
                ids.append(value["$id"])
            if "$ref" in value:
                refs.append(value["$ref"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    assert len(ids) == len(set(ids)), "duplicate $id"
    assert set(refs) <= set(ids), f"dangling references: {set(refs) - set(ids)}"
    return parsed


def _pos(location: dict[str, Any]) -> tuple[float, float, str]:
    root = etree.fromstring(location["locationByValue"].encode())
    pos = root.findtext(".//gml:pos", namespaces=PIDF)
    shape = root.find("p:tuple/p:status/gp:geopriv/gp:location-info/*", PIDF)
    lat, lon = map(float, pos.split())
    return lat, lon, etree.QName(shape).localname


async def test_eido_of_an_incident_with_calls_notes_dispatch_and_units(
    client: httpx.AsyncClient, operator: dict, supervisor: dict
) -> None:
    caller = _number()
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": caller, "category": "crime", "description": "pencurian motor",
        "location": {**MENTIKAN, "accuracy_m": 25}})).json()
    incident = call["incident"]
    agency_a = await login(client, AGENCY_A.lower())
    note = await client.post(f"/v1/incidents/{incident['id']}/notes", headers=agency_a,
                             json={"text": "Pelaku kabur <ke utara> & membawa senjata"})
    assert note.status_code == 201, note.text
    admin = await login(client, "admin")
    unit = f"EIDO-{uuid.uuid4().hex[:8]}"
    assert (await client.put(f"/v1/units/{unit}", headers=admin, json={
        "agency_code": AGENCY_A, "kind": "patrol", "name": "Patroli EIDO"})).status_code == 201
    sent = await client.post(f"/v1/incidents/{incident['id']}/units", headers=operator,
                             json={"unit_code": unit})
    assert sent.status_code == 201, sent.text
    fix = await client.post("/v1/units/positions", headers=agency_a, json=[{
        "unit_code": unit, "lat": -7.465, "lon": 112.428, "accuracy_m": 8,
        "at": datetime.now(UTC).isoformat()}])
    assert fix.status_code == 200, fix.text

    response = await client.get(f"/v1/incidents/{incident['id']}/eido", headers=supervisor)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    eido = check_document(document)
    assert document["eidoVersion"] == "1.0"
    assert document["$id"].startswith("urn:emergency:uid:incidentid:")
    assert document["issuingElementIdentification"] == "psap.mjk.siaga112"

    component = eido.incidentComponent
    assert component is not None
    assert component.internalIncidentId == incident["number"]
    assert (component.incidentTypeInternalCode, component.incidentTypeCommonRegistryText) == \
        ("crime", "LawEnforcement")
    assert component.incidentCommonPriorityNumber == reg.PRIORITY_NUMBER[incident["priority"]]
    assert f"assignment:{AGENCY_A}:queued" in (component.incidentStatusInternalText or [])

    agencies = {a.id.rsplit(":", 1)[1]: a for a in eido.agencyComponent}
    assert agencies["psap"].incidentOwningAgencyIndicator is True
    assert agencies[AGENCY_A].agencyType == ["police"]
    assert agencies[AGENCY_A].agencyRoleDescriptionRegistryText == ["Responding"]

    [call_component] = eido.callComponent or []
    assert call_component.direction == "incoming"
    assert call_component.callStateRegistryText == "callAnswered"
    [callback] = eido.callbackComponent or []
    assert callback.callBackInformationUri == [f"tel:{caller}"]

    locations = {loc["locationTypeDescriptionRegistryText"]: loc
                 for loc in document["locationComponent"]}
    lat, lon, shape = _pos(locations["Incident"])
    assert (round(lat, 4), round(lon, 4), shape) == (MENTIKAN["lat"], MENTIKAN["lon"], "Circle")
    assert "Kelurahan Mentikan" in locations["Incident"]["locationDescriptionText"]
    assert _pos(locations["Unit"])[:2] == (-7.465, 112.428)

    [note_component] = eido.notesComponent or []
    assert note_component.notesActionComments == \
        "<p>Pelaku kabur &lt;ke utara&gt; &amp; membawa senjata</p>"
    assert note_component.updatedByAgencyReference.ref == agencies[AGENCY_A].id

    [resource] = eido.emergencyResourceComponent or []
    assert resource.emergencyResourceName == "Patroli EIDO"
    assert resource.primaryUnitStatusRegistryText == "Dispatched"
    [dispatch] = eido.dispatchComponent or []
    assert dispatch.agencyReference is not None
    assert dispatch.agencyReference.ref == agencies[AGENCY_A].id
    assert [r.ref for r in dispatch.emergencyResourceReference or []] == [resource.id]


async def test_visibility_is_the_incidents_and_agencies_get_no_caller_numbers(
    client: httpx.AsyncClient, operator: dict
) -> None:
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "category": "crime", "location": MENTIKAN})).json()
    url = f"/v1/incidents/{call['incident']['id']}/eido"
    own = await client.get(url, headers=await login(client, AGENCY_A.lower()))
    assert own.status_code == 200, own.text
    check_document(own.json())
    assert "callbackComponent" not in own.json() and "callComponent" not in own.json()
    assert call["caller_number"] not in own.text
    other = await client.get(url, headers=await login(client, "damkar-mjk"))
    assert other.status_code == 404
    assert call["incident"]["id"] not in other.text
    assert (await client.get(f"/v1/incidents/{uuid.uuid4()}/eido",
                             headers=operator)).status_code == 404
    assert (await client.get(url)).status_code == 401


async def test_merged_and_closed_incidents(client: httpx.AsyncClient, operator: dict) -> None:
    first = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "category": "crime", "location": MENTIKAN})).json()
    second = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "category": "crime", "location": MENTIKAN})).json()
    merged = await client.post(f"/v1/incidents/{second['incident']['id']}/merge",
                               headers=operator,
                               json={"into_incident_id": first["incident"]["id"]})
    assert merged.status_code == 200, merged.text
    gone = check_document((await client.get(
        f"/v1/incidents/{second['incident']['id']}/eido", headers=operator)).json())
    survivor = check_document((await client.get(
        f"/v1/incidents/{first['incident']['id']}/eido", headers=operator)).json())
    [replaced] = gone.mergeComponent or []
    assert replaced.incidentMergeDirectionCode == "REPLACED"
    assert replaced.incidentTrackingIdentifier == survivor.id
    [replacing] = survivor.mergeComponent or []
    assert replacing.incidentMergeDirectionCode == "REPLACING"
    assert replacing.incidentTrackingIdentifier == gone.id
    assert gone.incidentComponent is not None
    [disposition] = gone.incidentComponent.dispositionComponent or []
    assert disposition.dispositionCommonRegistryCode == "Duplicate"
    assert len(survivor.callComponent or []) == 2  # the calls moved

    closed = await client.post(f"/v1/incidents/{first['incident']['id']}/close",
                               headers=operator, json={"resolution": "pelaku diamankan"})
    assert closed.status_code == 200, closed.text
    done = check_document((await client.get(
        f"/v1/incidents/{first['incident']['id']}/eido", headers=operator)).json())
    assert done.incidentComponent is not None
    assert done.incidentComponent.incidentStatusCommonRegistryText == ["Closed"]
    [closing] = done.incidentComponent.dispositionComponent or []
    assert (closing.dispositionCommonRegistryCode, closing.dispositionDescriptionText) == \
        ("Completed", "pelaku diamankan")


def test_every_value_of_ours_is_mapped_and_documented() -> None:
    categories = [c["code"] for c in json.loads(
        (ROOT / "dispatch/tools/demo_data/categories.json").read_text())["categories"]]
    lists = {
        "category": (categories, reg.CATEGORY_TYPES),
        "incident status": (INCIDENT_STATUSES, reg.INCIDENT_STATUS),
        "call disposition": (DISPOSITIONS, reg.CALL_DISPOSITION),
        "agency kind": (AGENCY_KINDS, reg.AGENCY_TYPE),
        "unit kind": (UNIT_KINDS, reg.UNIT_TYPE),
        "unit status": (UNIT_STATUSES, reg.UNIT_STATUS),
        "priority": ((1, 2, 3, 4), reg.PRIORITY_NUMBER),
    }
    docs = (ROOT / "docs/EIDO.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in docs.splitlines()
            if line.startswith("|")}
    for name, (ours, mapping) in lists.items():
        assert set(ours) == set(mapping), f"{name}: {set(ours) ^ set(mapping)}"
        missing = {str(v) for v in ours} - rows
        assert not missing, f"docs/EIDO.md has no row for the {name}s {missing}"
