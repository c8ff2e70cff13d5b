"""The typed contract: /openapi.json documents every answer of every operation.

- Every 2xx answer has a JSON schema naming a model (the CSV export aside, which says
  text/csv); every 4xx/5xx it declares is a problem document (`Problem`); the errors an
  operation can really answer are declared (401/403/429 where a token is needed, 413 and
  422 where a body is read, 404 where a path names a resource, 503 wherever the database is
  used). Operation ids are snake_case verbs, unique: a generated client's method names.
- The named models exist with API.md's fields, and their value lists are the domain's.
- The hot paths (POST /v1/calls, the list endpoints) answer with orjson, unvalidated at
  request time: their real answers (and the others') are checked here against the schema
  the document declares for that status and media type.

The document is built from `create_app(settings)` without a database; the served one is
checked to be the same."""

from __future__ import annotations

import re
import uuid
from typing import Any, get_args

import httpx
import jsonschema_rs
import pytest

from api import responses
from api.app import create_app
from dispatch.assignments.lifecycle import ASSIGNMENT_STATES
from dispatch.assignments.model import ASSIGNMENT_REASONS
from dispatch.core.agency_kinds import AGENCY_KINDS, AgencyKind
from dispatch.models import CHANNELS, DISPOSITIONS, INCIDENT_STATUSES
from geo.locate import PRECEDENCE
from tests.support import make_settings

NO_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
DOCUMENT: dict[str, Any] = create_app(make_settings(NO_DATABASE)).openapi()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
ERRORS = {400, 401, 403, 404, 409, 413, 422, 429, 503}
NON_JSON = {("get", "/v1/stats/shifts/{date}/{name}.csv"): "text/csv",
            ("get", "/v1/alerts"): "application/atom+xml",
            ("get", "/v1/alerts/{identifier}"): "application/cap+xml"}
UPSERTS = {("put", "/v1/agencies/{code}"), ("put", "/v1/categories/{code}"),
           ("put", "/v1/units/{code}")}  # no 404
RAW_BODIES = {("post", "/v1/aml"),  # read as bytes, decoded with replacement: never a 400
              ("post", "/v1/warnings")}  # CAP XML: whatever it is, 422 when not CAP
VERBS = {"acknowledge", "add", "assign", "cancel", "change", "check", "close", "create",
         "export",
         "issue", "list", "log", "merge", "reset",
         "open", "read", "receive", "register", "reverse", "save", "search", "unmerge",
         "update"}
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}

OPERATIONS = [(method, path, operation) for path, item in DOCUMENT["paths"].items()
              for method, operation in item.items() if method in HTTP_METHODS]
IDS = [operation["operationId"] for _, _, operation in OPERATIONS]


def _is_named(schema: dict[str, Any]) -> bool:
    """A reference to a model, or an array of them (not `{}` or a bare object)."""
    if schema.get("type") == "array":
        return _is_named(schema["items"])
    return set(schema) == {"$ref"} and schema["$ref"].removeprefix(
        "#/components/schemas/") in SCHEMAS


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_success_body_is_a_named_model(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    successes = {int(s): r for s, r in operation["responses"].items() if s.startswith("2")}
    assert successes, f"{method.upper()} {path} declares no 2xx answer"
    for status, response in successes.items():
        content = response.get("content", {})
        if status == 204:
            assert not content
        elif (method, path) in NON_JSON:
            assert set(content) == {NON_JSON[method, path]}
        else:
            assert set(content) == {"application/json"}, (status, content)
            assert _is_named(content["application/json"]["schema"]), (status, content)


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_error_is_a_problem_document(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    for status, response in operation["responses"].items():
        if int(status) >= 400:
            assert int(status) in ERRORS, f"{status} is not an error this service answers"
            assert response["content"] == PROBLEM, (status, response)
            assert response["description"]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_errors_are_declared_where_they_occur(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    declared = {int(s) for s in operation["responses"] if int(s) >= 400}
    expected: set[int] = set()
    if operation.get("security"):
        expected |= {401, 403, 429, 503}
    if "requestBody" in operation:
        expected |= {413, 422}
        if (method, path) not in RAW_BODIES:
            expected.add(400)  # a body that is not UTF-8 JSON, or a broken form
    if operation.get("parameters"):
        expected.add(422)
    if "{" in path and (method, path) not in UPSERTS:
        expected.add(404)
    if path != "/healthz":  # everything else reads the database
        expected.add(503)
    assert expected <= declared, f"not declared: {sorted(expected - declared)}"


def test_operation_ids_are_unique_snake_case_verbs() -> None:
    assert len(IDS) == len(set(IDS)), sorted(i for i in IDS if IDS.count(i) > 1)
    for operation_id in IDS:
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", operation_id), operation_id
        assert operation_id.split("_")[0] in VERBS, operation_id
    assert {"register_call", "read_incident", "list_incidents",
            "acknowledge_assignment"} <= set(IDS)


# API.md's fields of each resource (the models may have more: the domain adds some).
API_MD_FIELDS = {
    "Incident": {"id", "number", "category", "priority", "status", "location", "area",
                 "description", "created_at", "updated_at", "closed_at", "call_ids",
                 "assignments"},
    "Assignment": {"id", "incident_id", "agency", "status", "reason", "distance_m",
                   "created_at", "acknowledged_at", "updated_at"},
    "Call": {"id", "received_at", "caller_number", "channel", "operator", "location", "area",
             "in_service_area", "possible_duplicates", "incident", "location_warnings",
             "repeat_caller", "disposition"},
    "Agency": {"code", "name", "kind", "station", "coverage", "active"},
    "ShiftFigures": {"shift", "calls", "incidents", "agencies", "times", "operators"},
    "Category": {"code", "name", "name_id", "agency_kinds", "default_priority"},
    "Place": {"name", "level", "code", "lat", "lon", "score"},
    "Token": {"access_token", "token_type", "expires_in"},
    "Problem": {"type", "title", "status", "detail"},
}


@pytest.mark.parametrize("name", sorted(API_MD_FIELDS))
def test_named_models_carry_the_documented_fields(name: str) -> None:
    properties = set(SCHEMAS[name]["properties"])
    assert API_MD_FIELDS[name] <= properties, API_MD_FIELDS[name] - properties


def test_value_lists_are_the_domains() -> None:
    assert get_args(responses.Channel) == CHANNELS
    assert get_args(responses.Disposition) == DISPOSITIONS
    assert get_args(responses.IncidentStatus) == INCIDENT_STATUSES
    assert set(get_args(responses.AssignmentStatus)) == set(ASSIGNMENT_STATES)
    assert get_args(responses.AssignmentReason) == ASSIGNMENT_REASONS
    assert get_args(responses.LocationSource) == PRECEDENCE
    assert get_args(AgencyKind) == AGENCY_KINDS


# --- real answers against the document ---------------------------------------------------

SAJEN = {"lat": -7.69454, "lon": 112.52206}  # desa Sajen, kecamatan Pacet: no other test's
BAD_AML = 'A"ML=1;lt=-7.6945;lg=112.5220;rd=20;top=20261123010203;lc=68;pm=N'


def conforms(response: httpx.Response, method: str, path: str) -> Any:
    """The answer's body, after checking it against what the document declares for this
    operation, status and media type (formats such as uuid and date-time included)."""
    operation = DOCUMENT["paths"][path][method]
    declared = operation["responses"].get(str(response.status_code))
    assert declared, f"{method.upper()} {path} answered {response.status_code}: " \
                     f"undeclared ({response.text[:300]})"
    media = response.headers["content-type"].split(";")[0]
    assert media in declared["content"], f"{media} is not declared for {response.status_code}"
    schema = {**declared["content"][media]["schema"], "components": DOCUMENT["components"]}
    body = response.json()
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
              for e in validator.iter_errors(body)]
    assert not errors, f"{method.upper()} {path} {response.status_code}:\n" + "\n".join(errors)
    return body


def _number() -> str:
    return f"+62819555{uuid.uuid4().int % 10**5:05d}"


async def test_the_served_document_is_the_one_checked(client: httpx.AsyncClient) -> None:
    assert (await client.get("/openapi.json")).json() == DOCUMENT


async def test_intake_answers_conform(client: httpx.AsyncClient, operator: dict) -> None:
    first = conforms(await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "category": "fire", "description": "gudang terbakar",
        "location": {**SAJEN, "accuracy_m": 15}}), "post", "/v1/calls")
    assert first["incident"]["assignments"], first
    near = conforms(await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "category": "fire",
        "location": {"lat": SAJEN["lat"] + 0.0003, "lon": SAJEN["lon"]}}), "post", "/v1/calls")
    assert near["possible_duplicates"], near
    linked = conforms(await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "link_incident_id": first["incident"]["id"]}),
        "post", "/v1/calls")
    assert linked["incident"]["id"] == first["incident"]["id"]
    nowhere = conforms(await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "aml": BAD_AML, "channel": "sms"}), "post", "/v1/calls")
    assert nowhere["location"] is None and nowhere["location_warnings"], nowhere

    number, key = _number(), str(uuid.uuid4())
    body = {"caller_number": number, "address": "Sajen, Pacet"}
    for _ in range(2):
        again = await client.post("/v1/calls", headers={**operator, "Idempotency-Key": key},
                                  json=body)
        stored = conforms(again, "post", "/v1/calls")
    assert again.headers.get("Idempotent-Replayed") == "true"
    closed = conforms(await client.post(f"/v1/calls/{stored['id']}/disposition",
                                         headers=operator, json={"disposition": "prank"}),
                      "post", "/v1/calls/{call_id}/disposition")
    assert closed["repeat_caller"] == {"prank_or_ghost_24h": 1}
    repeat = conforms(await client.post("/v1/calls", headers=operator, json={
        "caller_number": number}), "post", "/v1/calls")
    assert repeat["repeat_caller"] == {"prank_or_ghost_24h": 1}


async def test_list_answers_conform(
    client: httpx.AsyncClient, operator: dict, supervisor: dict
) -> None:
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "category": "fire", "location": SAJEN})).json()
    code = call["incident"]["assignments"][0]["agency"]["code"]
    calls = conforms(await client.get("/v1/calls?limit=2", headers=supervisor),
                     "get", "/v1/calls")
    assert calls["next_cursor"] and len(calls["items"]) == 2
    incidents = conforms(await client.get("/v1/incidents?limit=2", headers=supervisor),
                         "get", "/v1/incidents")
    assert incidents["next_cursor"] and len(incidents["items"]) == 2
    queue = conforms(await client.get(f"/v1/agencies/{code}/queue", headers=supervisor),
                     "get", "/v1/agencies/{code}/queue")
    assert call["incident"]["id"] in {a["incident_id"] for a in queue["items"]}
    agencies = conforms(await client.get("/v1/agencies", headers=operator),
                        "get", "/v1/agencies")
    assert any(a["coverage"] for a in agencies) and any(not a["coverage"] for a in agencies)


async def test_validated_answers_conform(
    client: httpx.AsyncClient, operator: dict, supervisor: dict
) -> None:
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "category": "fire", "location": SAJEN})).json()
    incident_id = call["incident"]["id"]
    assignment_id = call["incident"]["assignments"][0]["id"]
    conforms(await client.get(f"/v1/calls/{call['id']}", headers=operator),
             "get", "/v1/calls/{call_id}")
    conforms(await client.patch(f"/v1/incidents/{incident_id}", headers=operator,
                                json={"priority": 2}), "patch", "/v1/incidents/{incident_id}")
    conforms(await client.post(f"/v1/assignments/{assignment_id}/ack", headers=supervisor),
             "post", "/v1/assignments/{assignment_id}/ack")
    conforms(await client.post(f"/v1/assignments/{assignment_id}/status", headers=supervisor,
                               json={"status": "en_route"}),
             "post", "/v1/assignments/{assignment_id}/status")
    detail = conforms(await client.get(f"/v1/incidents/{incident_id}", headers=supervisor),
                      "get", "/v1/incidents/{incident_id}")
    assert [e["type"] for e in detail["timeline"]][:1] == ["incident.created"]
    conforms(await client.post(f"/v1/incidents/{incident_id}/close", headers=operator,
                               json={"resolution": "padam"}),
             "post", "/v1/incidents/{incident_id}/close")
    later = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "location": SAJEN})).json()
    conforms(await client.post(f"/v1/calls/{later['id']}/incident", headers=operator,
                               json={"category": "fire"}), "post", "/v1/calls/{call_id}/incident")
    aml = 'A"ML=1;lt=-7.6946;lg=112.5221;rd=20;top=20261123010203;lc=68;pm=G;ml=124'
    receipt = conforms(await client.post(
        "/v1/aml", headers={**supervisor, "Content-Type": "text/plain"}, content=aml,
        params={"caller_number": later["caller_number"]}),
             "post", "/v1/aml")
    assert receipt["matched_call_id"] == later["id"], receipt
    conforms(await client.get("/v1/geo/reverse", params=SAJEN, headers=operator),
             "get", "/v1/geo/reverse")
    places = conforms(await client.get("/v1/geo/search?q=sajen", headers=operator),
                      "get", "/v1/geo/search")
    assert places, "no place named Sajen"
    conforms(await client.get("/v1/categories", headers=operator), "get", "/v1/categories")
    conforms(await client.get("/v1/stats/shifts/current", headers=supervisor),
             "get", "/v1/stats/shifts/current")
    conforms(await client.get("/v1/stats/shifts", headers=supervisor), "get", "/v1/stats/shifts")
    conforms(await client.get("/healthz"), "get", "/healthz")
    conforms(await client.get("/readyz"), "get", "/readyz")


async def test_problem_answers_conform(client: httpx.AsyncClient, operator: dict) -> None:
    conforms(await client.get("/v1/incidents"), "get", "/v1/incidents")  # 401
    conforms(await client.get("/v1/stats/shifts/current", headers=operator),
             "get", "/v1/stats/shifts/current")  # 403
    conforms(await client.get(f"/v1/incidents/{uuid.uuid4()}", headers=operator),
             "get", "/v1/incidents/{incident_id}")  # 404
    invalid = conforms(await client.post("/v1/calls", headers=operator, json={
        "caller_number": _number(), "location": {"lat": 200, "lon": 0}}), "post", "/v1/calls")
    assert invalid["status"] == 422 and invalid["errors"], invalid
