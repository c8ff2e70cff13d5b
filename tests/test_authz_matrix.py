"""Authorization matrix: every HTTP endpoint × every kind of caller, with the exact status.

The table below is the authorization part of the contract (API.md, "Auth and roles"):
public operations endpoints need no token; everything else answers 401 without a valid
token (none, garbage, expired) and 403 to a role that may not use it; an agency account
asking about another agency's incident, assignment or queue gets 404, as if it did not
exist, and never sees its data.

`test_every_endpoint_is_in_the_table` enumerates `app.routes`: a new endpoint fails it
until it gets a row here. WebSocket feeds are tested elsewhere (tests/test_feeds.py).

Data: one shared incident (category "crime" at Mentikan, routed to POLSEK-PRAJURITKULON =
agency A; DAMKAR-MJK = agency B has nothing to do with it) for the cells that only read or
edit harmlessly; cells whose action consumes state (ack, status, close, disposition, ...)
get a fresh call or incident each. Writes by admin re-put an existing agency and category
unchanged, so the demo data other tests rely on stays as it was.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dispatch.accounts.tokens import issue_token, read_token
from dispatch.models import User
from tests.support import login

MENTIKAN = {"lat": -7.47, "lon": 112.43}  # kecamatan Prajuritkulon: crime → POLSEK
AGENCY_A = "POLSEK-PRAJURITKULON"
AGENCY_B = "DAMKAR-MJK"
MANUAL_AGENCY = "POLRES-MJK-KOTA"  # assigned by hand in the manual-assignment cells
SPARE_AGENCY = "PLN-UP3-MJK"  # re-put unchanged by the admin cell (small: no coverage)
SPARE_CATEGORY = "animal"  # re-put unchanged by the admin cell
SPARE_UNIT_CODE = "BASARNAS-SBY-1"  # a demo unit, re-put unchanged by the admin cell
SPARE_UNIT = {"agency_code": "BASARNAS-SBY", "kind": "rescue",
              "name": "Unit rescue 1 BASARNAS-SBY", "device_id": "demo-basarnas-sby-1"}
AML = ('A"ML=1;lt=-7.45950;lg=+112.43936;rd=15;top=20261123010203;lc=68;pm=G;'
       'si=510101234567890;ei=3534567890123456;mcc=510;mnc=10;ml=124')

ROLES = ("anonymous", "garbage_token", "expired_token", "gateway", "operator", "supervisor",
         "admin", "agency_a", "agency_b")
UNAUTHENTICATED = ("anonymous", "garbage_token", "expired_token")
USERNAMES = {"gateway": "aml-gateway", "operator": "operator", "supervisor": "supervisor",
             "admin": "admin", "agency_a": AGENCY_A.lower(), "agency_b": AGENCY_B.lower()}
_numbers = itertools.count(1)


def public(status: int = 200) -> dict[str, int]:
    """No token needed: every caller gets the same answer."""
    return dict.fromkeys(ROLES, status)


def protected(**allowed: int) -> dict[str, int]:
    """401 without a valid token, 403 for every role not named, the given status otherwise."""
    expected = dict.fromkeys(ROLES, 403)
    expected.update(dict.fromkeys(UNAUTHENTICATED, 401))
    expected.update(allowed)
    return expected


def readers(**overrides: int) -> dict[str, int]:
    """Operator, supervisor, admin and both agencies may read (the gateway may not)."""
    return protected(**{"operator": 200, "supervisor": 200, "admin": 200, "agency_a": 200,
                        "agency_b": 200, **overrides})


def fresh_number(prefix: str = "+62813998") -> str:
    return f"{prefix}{next(_numbers):05d}"


@dataclass(frozen=True)
class Target:
    """The resources one cell acts on."""

    call_id: str
    incident_id: str
    assignment_id: str
    unit_code: str = ""  # a fresh unit of agency A ("unit" cells)
    alert_id: str = ""  # a fresh CAP alert on the incident ("alert" cells)

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.call_id, self.incident_id, self.assignment_id)


@dataclass
class Matrix:
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    shared: Target
    spare_agency: dict[str, Any]
    spare_category: dict[str, Any]
    spare_user_id: str = ""
    stand_ins: dict[str, dict[str, str]] = field(default_factory=dict)  # see Row.revokes
    shared_alert_id: str = ""

    async def new_alert(self, incident_id: str) -> str:
        response = await self.client.post(f"/v1/incidents/{incident_id}/alerts",
                                          headers=self.headers["supervisor"], json=ALERT)
        assert response.status_code == 201, response.text
        return str(response.json()["identifier"])

    async def new_call(self, *, category: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"caller_number": fresh_number(), "location": MENTIKAN}
        if category:
            body["category"] = category
        response = await self.client.post("/v1/calls", headers=self.headers["operator"],
                                          json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def new_target(self, kind: str | None) -> Target:
        if kind is None:
            return self.shared
        if kind == "call":  # a call with no incident yet
            call = await self.new_call(category=None)
            return Target(call["id"], "", "")
        if kind == "unit":  # a fresh incident of agency A and a free unit of agency A
            incident = target_of(await self.new_call(category="crime"))
            code = f"MATRIX-{uuid.uuid4().hex[:8]}"
            response = await self.client.put(f"/v1/units/{code}", headers=self.headers["admin"],
                                             json={"agency_code": AGENCY_A, "kind": "patrol",
                                                   "name": "authz matrix"})
            assert response.status_code == 201, response.text
            return Target(incident.call_id, incident.incident_id, incident.assignment_id, code)
        if kind == "alert":  # a fresh incident of agency A with a CAP alert
            incident = target_of(await self.new_call(category="crime"))
            return Target(incident.call_id, incident.incident_id, incident.assignment_id,
                          alert_id=await self.new_alert(incident.incident_id))
        if kind == "merged":  # an incident merged into the shared one (for the unmerge)
            merged = target_of(await self.new_call(category="crime"))
            response = await self.client.post(
                f"/v1/incidents/{merged.incident_id}/merge", headers=self.headers["operator"],
                json={"into_incident_id": self.shared.incident_id})
            assert response.status_code == 200, response.text
            return merged
        call = await self.new_call(category="crime")
        return target_of(call)


def target_of(call: dict[str, Any]) -> Target:
    incident = call["incident"]
    [assignment] = incident["assignments"]
    assert assignment["agency"]["code"] == AGENCY_A, assignment
    return Target(call["id"], incident["id"], assignment["id"])


Build = Callable[[Matrix, Target], dict[str, Any]]


def nothing(_: Matrix, __: Target) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's path template, as in app.routes
    expected: dict[str, int]
    build: Build = nothing  # extra request arguments (json=, data=, content=, params=)
    fresh: str | None = None  # "call" / "incident": new data for each cell
    code: str = AGENCY_A  # the {code} of agency paths
    query: str = ""  # a variant of the same endpoint (shown in the test id)
    # The cell revokes the caller's tokens (every token of the account): it runs as a
    # stand-in account of the same role, so the demo accounts' tokens, which the session's
    # other tests hold, stay good.
    revokes: bool = False

    def url(self, target: Target, user_id: str = "", alert_id: str = "") -> str:
        path = self.path.format(call_id=target.call_id, incident_id=target.incident_id,
                                assignment_id=target.assignment_id,
                                code=target.unit_code or self.code,
                                date="2026-11-23", name="pagi", user_id=user_id,
                                identifier=target.alert_id or alert_id)
        return path + self.query

    @property
    def label(self) -> str:
        shown = self.path.replace("{code}", self.code) if "{code}" in self.path else self.path
        return f"{self.method} {shown}{self.query}"


def token_form(_: Matrix, __: Target) -> dict[str, Any]:
    return {"data": {"username": "operator2", "password": "operator2-demo-112"}}


def new_call_body(_: Matrix, __: Target) -> dict[str, Any]:
    return {"json": {"caller_number": fresh_number(), "location": MENTIKAN}}


def aml_body(_: Matrix, __: Target) -> dict[str, Any]:
    # A number no call has: stored to wait for one → 202.
    return {"content": AML, "params": {"caller_number": fresh_number("+62813997")},
            "headers": {"Content-Type": "text/plain"}}


def json_body(body: dict[str, Any]) -> Build:
    return lambda _m, _t: {"json": body}


ALERT = {"headline": "Matriks otorisasi: uji peringatan", "instruction": "Abaikan pesan ini.",
         "severity": "Minor", "urgency": "Expected", "certainty": "Possible"}


def warning_body(_: Matrix, __: Target) -> dict[str, Any]:
    """A CAP warning of its own identifier (the same one twice is a 409)."""
    sent = datetime.now(UTC).replace(microsecond=0)
    xml = f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>MATRIX-{uuid.uuid4().hex}</identifier><sender>BMKG</sender>
  <sent>{sent.isoformat()}</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope><info><language>id</language><category>Met</category>
  <event>Hujan Lebat</event><urgency>Expected</urgency><severity>Minor</severity>
  <certainty>Possible</certainty><expires>{(sent + timedelta(hours=1)).isoformat()}</expires>
  <area><areaDesc>Kec. Prajuritkulon</areaDesc></area></info></alert>"""
    return {"content": xml.encode(), "headers": {"Content-Type": "application/xml"}}


def new_user_body(_: Matrix, __: Target) -> dict[str, Any]:
    return {"json": {"username": f"matrix-{next(_numbers)}-{uuid.uuid4().hex[:6]}",
                     "role": "operator", "password": "matrix-password-1"}}


TABLE: tuple[Row, ...] = (
    # Operations and documentation: no token.
    Row("GET", "/healthz", public()),
    Row("GET", "/readyz", public()),
    Row("GET", "/metrics", public()),
    Row("GET", "/openapi.json", public()),
    Row("GET", "/docs", public()),
    Row("GET", "/docs/oauth2-redirect", public()),
    # The login itself: a bearer header, good or bad, plays no part.
    Row("POST", "/auth/token", public(), token_form),
    # Calls: operators (and supervisors) take them; admin may read; agencies never.
    Row("POST", "/v1/calls", protected(operator=201, supervisor=201), new_call_body),
    Row("GET", "/v1/calls", protected(operator=200, supervisor=200, admin=200)),
    Row("GET", "/v1/calls/{call_id}", protected(operator=200, supervisor=200, admin=200)),
    Row("POST", "/v1/calls/{call_id}/incident", protected(operator=201, supervisor=201),
        json_body({"category": "crime"}), fresh="call"),
    Row("POST", "/v1/calls/{call_id}/disposition", protected(operator=200, supervisor=200),
        json_body({"disposition": "prank", "note": "authz matrix"}), fresh="call"),
    # Incidents: an agency reads only what it is assigned to; B gets 404 for A's incident.
    Row("GET", "/v1/incidents", readers()),
    Row("GET", "/v1/incidents", readers(), query=f"?agency={AGENCY_A}&limit=500"),
    Row("GET", "/v1/incidents/{incident_id}", readers(agency_b=404)),
    Row("GET", "/v1/incidents/nearby", readers(), lambda _m, _t: {"params": MENTIKAN}),
    Row("GET", "/v1/callers", protected(operator=200, supervisor=200),
        lambda _m, _t: {"params": {"caller_number": "081234567890"}}),
    Row("PATCH", "/v1/incidents/{incident_id}", protected(operator=200, supervisor=200),
        json_body({"description": "authz matrix: description edited"})),
    Row("POST", "/v1/incidents/{incident_id}/assignments", protected(supervisor=201),
        json_body({"agency_code": MANUAL_AGENCY}), fresh="incident"),
    Row("POST", "/v1/incidents/{incident_id}/close", protected(operator=200, supervisor=200),
        json_body({"resolution": "authz matrix: closed"}), fresh="incident"),
    # Notes: operators and supervisors on any incident, an agency on its own (B: 404).
    Row("POST", "/v1/incidents/{incident_id}/notes",
        protected(operator=201, supervisor=201, agency_a=201, agency_b=404),
        json_body({"text": "authz matrix: a note"})),
    # Merge a fresh incident into the shared one (both agency A's), and undo one.
    Row("POST", "/v1/incidents/{incident_id}/merge", protected(operator=200, supervisor=200),
        lambda m, _t: {"json": {"into_incident_id": m.shared.incident_id}}, fresh="incident"),
    Row("POST", "/v1/incidents/{incident_id}/unmerge",
        protected(operator=200, supervisor=200), fresh="merged"),
    # Agency directory and categories: reference data; admin writes.
    Row("GET", "/v1/agencies", readers()),
    Row("GET", "/v1/agencies/{code}", readers()),
    Row("PUT", "/v1/agencies/{code}", protected(admin=200),
        lambda m, _t: {"json": m.spare_agency}, code=SPARE_AGENCY),
    # The gateway "may only post AML" (API.md): not even the category list.
    Row("GET", "/v1/categories", readers()),
    Row("PUT", "/v1/categories/{code}", protected(admin=200),
        lambda m, _t: {"json": m.spare_category}, code=SPARE_CATEGORY),
    # Queues and assignments: the owning agency or a supervisor; another agency gets 404.
    Row("GET", "/v1/agencies/{code}/queue", protected(supervisor=200, agency_a=200,
                                                      agency_b=404)),
    Row("POST", "/v1/assignments/{assignment_id}/ack",
        protected(supervisor=200, agency_a=200, agency_b=404), fresh="incident"),
    Row("POST", "/v1/assignments/{assignment_id}/status",
        protected(supervisor=200, agency_a=200, agency_b=404),
        json_body({"status": "declined", "note": "authz matrix"}), fresh="incident"),
    # Geography: every reader.
    Row("GET", "/v1/geo/reverse", readers(), lambda _m, _t: {"params": MENTIKAN}),
    Row("GET", "/v1/geo/search", readers(), lambda _m, _t: {"params": {"q": "Mentikan"}}),
    Row("GET", "/v1/geo/boundaries", readers(), lambda _m, _t: {"params": {"level": "kabkota"}}),
    # Statistics: supervisors only.
    Row("GET", "/v1/stats/shifts", protected(supervisor=200)),
    Row("GET", "/v1/stats/shifts/current", protected(supervisor=200)),
    Row("GET", "/v1/stats/shifts/{date}/{name}.csv", protected(supervisor=200)),
    # AML: the gateway's endpoint (the code lets a supervisor relay one too).
    Row("POST", "/v1/aml", protected(gateway=202, supervisor=202), aml_body),
    # Units: readers see them (an agency its own); the admin registers (re-puts a demo
    # unit unchanged); the owning agency or a supervisor reports a status; trackers post
    # fixes (another agency's fix is rejected inside a 200); sending needs the incident.
    Row("GET", "/v1/units", readers()),
    Row("GET", "/v1/units/{code}", readers(agency_b=404), code=f"{AGENCY_A}-1"),
    Row("PUT", "/v1/units/{code}", protected(admin=200), json_body(SPARE_UNIT),
        code=SPARE_UNIT_CODE),
    Row("POST", "/v1/units/{code}/status",
        protected(supervisor=200, agency_a=200, agency_b=404),
        json_body({"status": "out_of_service"}), fresh="unit"),
    Row("POST", "/v1/units/positions", protected(gateway=200, agency_a=200, agency_b=200),
        lambda _m, _t: {"json": [{"unit_code": f"{AGENCY_A}-2", **MENTIKAN,
                                  "at": datetime.now(UTC).isoformat()}]}),
    Row("GET", "/v1/incidents/{incident_id}/recommendations",
        protected(operator=200, supervisor=200, agency_a=200, agency_b=404)),
    Row("POST", "/v1/incidents/{incident_id}/units",
        protected(operator=201, supervisor=201, agency_a=201, agency_b=404),
        lambda _m, t: {"json": {"unit_code": t.unit_code}}, fresh="unit"),
    # OsmAnd: no token; the device id is the credential (a demo unit's).
    Row("GET", "/osmand", public(),
        lambda _m, _t: {"params": {"id": SPARE_UNIT["device_id"], **MENTIKAN}}),
    Row("POST", "/osmand", public(),
        lambda _m, _t: {"data": {"id": SPARE_UNIT["device_id"], **MENTIKAN}}),
    # Accounts: the admin only (on a spare account of the matrix's own).
    Row("GET", "/v1/users", protected(admin=200)),
    Row("POST", "/v1/users", protected(admin=201), new_user_body),
    Row("GET", "/v1/users/{user_id}", protected(admin=200)),
    Row("PATCH", "/v1/users/{user_id}", protected(admin=200), json_body({"active": True})),
    Row("POST", "/v1/users/{user_id}/password", protected(admin=204),
        json_body({"password": "matrix-password-2"})),
    # Everyone signed in changes their own password and logs out. The body is refused
    # (422) once the caller is known, so the demo passwords stay as they are.
    Row("POST", "/auth/password", public(422) | dict.fromkeys(UNAUTHENTICATED, 401),
        json_body({"current_password": "whatever", "new_password": "x" * 300})),
    Row("POST", "/auth/logout", public(204) | dict.fromkeys(UNAUTHENTICATED, 401),
        revokes=True),
    # Interoperability: EIDO as the incident is visible; CAP alerts published by a
    # supervisor and read by anyone (no token); warnings posted by the gateway or admin.
    Row("GET", "/v1/incidents/{incident_id}/eido", readers(agency_b=404)),
    Row("POST", "/v1/incidents/{incident_id}/alerts", protected(supervisor=201),
        json_body(ALERT)),
    Row("POST", "/v1/alerts/{identifier}/update", protected(supervisor=201),
        json_body({"headline": "Matriks otorisasi: pemutakhiran"}), fresh="alert"),
    Row("POST", "/v1/alerts/{identifier}/cancel", protected(supervisor=201), fresh="alert"),
    Row("GET", "/v1/alerts", public()),
    Row("GET", "/v1/alerts/{identifier}", public()),
    Row("POST", "/v1/warnings", protected(gateway=201, admin=201), warning_body),
    Row("GET", "/v1/warnings", readers(), query="?active=true"),
)

CELLS = [(row, role) for row in TABLE for role in ROLES]
CELL_IDS = [f"{row.label} as {role} -> {row.expected[role]}" for row, role in CELLS]


def http_endpoints(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every HTTP route of the app, HEAD aside; WebSockets have no
    methods. FastAPI ≥ 0.16x keeps included routers as nested entries of `app.routes`."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        routes: list[Any] = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    found = set()
    for route in routes:
        if route.path == "/console" or route.path.startswith("/console/"):
            continue  # static pages without data, public by design: tests/console/test_security
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


@pytest.fixture(scope="module")
async def matrix(client: httpx.AsyncClient, app: FastAPI) -> Matrix:
    headers: dict[str, dict[str, str]] = {"anonymous": {},
                                          "garbage_token": {"Authorization": "Bearer garbage"}}
    for role, username in USERNAMES.items():
        headers[role] = await login(client, username)
    # A genuine token of the supervisor, except that it expired an hour ago.
    settings = app.state.settings
    who = read_token(headers["supervisor"]["Authorization"][7:], secret_key=settings.secret_key)
    user = User(id=uuid.UUID(who.user_id), username=who.username, role=who.role,
                agency_code=None)
    past = datetime.now(UTC) - timedelta(seconds=settings.token_ttl_s + 3600)
    expired = issue_token(user, secret_key=settings.secret_key, ttl_s=settings.token_ttl_s,
                          now=past)
    headers["expired_token"] = {"Authorization": f"Bearer {expired}"}
    fresh = issue_token(user, secret_key=settings.secret_key, ttl_s=settings.token_ttl_s)
    check = await client.get("/v1/calls?limit=1", headers={"Authorization": f"Bearer {fresh}"})
    assert check.status_code == 200, "the same token unexpired must work: " + check.text

    supervisor = headers["supervisor"]
    agency = await client.get(f"/v1/agencies/{SPARE_AGENCY}", headers=supervisor)
    assert agency.status_code == 200, agency.text
    categories = await client.get("/v1/categories", headers=supervisor)
    assert categories.status_code == 200, categories.text
    [category] = [c for c in categories.json() if c["code"] == SPARE_CATEGORY]

    result = Matrix(
        client=client,
        headers=headers,
        shared=Target("", "", ""),
        spare_agency={k: v for k, v in agency.json().items() if k != "code"},
        spare_category={k: v for k, v in category.items() if k != "code"},
    )
    result.shared = target_of(await result.new_call(category="crime"))
    spare_user = await client.post("/v1/users", headers=headers["admin"],
                                   json=new_user_body(result, result.shared)["json"])
    assert spare_user.status_code == 201, spare_user.text
    result.spare_user_id = spare_user.json()["id"]
    for role in USERNAMES:
        agency = {"agency_a": AGENCY_A, "agency_b": AGENCY_B}.get(role)
        name = f"matrix-{role.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
        made = await client.post("/v1/users", headers=headers["admin"], json={
            "username": name, "role": "agency" if agency else role,
            "password": "matrix-password-1",
            **({"agency_code": agency} if agency else {})})
        assert made.status_code == 201, made.text
        result.stand_ins[role] = await login(client, name, "matrix-password-1")
    result.shared_alert_id = await result.new_alert(result.shared.incident_id)
    return result


def test_every_endpoint_is_in_the_table(app: FastAPI) -> None:
    in_app = http_endpoints(app)
    in_table = {(row.method, row.path) for row in TABLE}
    missing = sorted(in_app - in_table)
    stale = sorted(in_table - in_app)
    assert not missing, f"endpoints with no row in the authorization table: {missing}"
    assert not stale, f"rows for endpoints the app does not have: {stale}"
    for row in TABLE:
        assert set(row.expected) == set(ROLES), row.label


@pytest.mark.parametrize(("row", "role"), CELLS, ids=CELL_IDS)
async def test_authorization(matrix: Matrix, row: Row, role: str) -> None:
    target = await matrix.new_target(row.fresh)
    kwargs = row.build(matrix, target)
    caller = matrix.stand_ins.get(role) if row.revokes else None
    headers = {**kwargs.pop("headers", {}), **(caller or matrix.headers[role])}
    response = await matrix.client.request(
        row.method, row.url(target, matrix.spare_user_id, matrix.shared_alert_id),
        headers=headers, **kwargs)
    assert response.status_code == row.expected[role], (
        f"{row.label} as {role}: expected {row.expected[role]}, got "
        f"{response.status_code}: {response.text[:300]}"
    )
    if response.status_code == 401:
        assert response.headers.get("WWW-Authenticate") == "Bearer"
    if response.status_code in (401, 403, 404):
        assert response.headers["content-type"] == "application/problem+json"
    if role == "agency_b":  # whatever the status: nothing of agency A's work leaks out
        leaked = [i for i in target.ids if i and i in response.text]
        assert not leaked, f"{row.label} as agency_b shows {leaked}: {response.text[:300]}"
