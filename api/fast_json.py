"""orjson answers for the hot paths (the intake and the list endpoints).

Their bodies are documented by a declared response model but not validated at request
time: validating and re-serialising a call or a page of incidents through pydantic costs
more than the rest of the router. tests/test_openapi.py and the schemathesis run check
those answers against the declared models instead."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from fastapi.responses import Response


def orjson_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """`body` (plain JSON values, as the domain's views are) encoded with orjson."""
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")
