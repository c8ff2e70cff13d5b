"""The limit beside intake, over HTTP: a bare FastAPI app whose one POST /v1/calls does the
single INSERT … RETURNING of bench/bare_insert.py through an asyncpg pool, served by uvicorn
the way `dispatch serve` serves the service (factory, N workers, uvloop/httptools).

    python -m bench.bare_api --dsn postgresql://… [--port 8199] [--workers 2] [--pool 20]

The body is the service's call body (pydantic, unknown fields refused); the answer is 201
with the row's id and time. No auth, no geolocation, no routing, no events: the floor.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bench.bare_insert import INSERT_SQL, ensure_table, insert_args
from dispatch.core.databases import plain_url


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(None, ge=0)


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    caller_number: str = Field(min_length=3, max_length=32)
    channel: Literal["voice", "sms", "app"] = "voice"
    location: LocationIn | None = None
    address: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=40)
    priority: int | None = Field(None, ge=1, le=4)
    description: str | None = Field(None, max_length=4000)


def create_app() -> FastAPI:
    dsn = os.environ["BENCH_DSN"]
    pool_size = int(os.environ.get("BENCH_POOL", "20"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        async with app.state.pool.acquire() as conn:
            await ensure_table(conn)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/calls", status_code=201)
    async def register_call(body: CallIn) -> JSONResponse:
        row = await app.state.pool.fetchrow(
            INSERT_SQL, *insert_args(body.model_dump(exclude_none=True)))
        return JSONResponse({"id": str(row["id"]), "received_at": row["created_at"].isoformat(),
                             "incident": None}, status_code=201)

    return app


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8199)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", type=int, default=20, help="connections per worker")
    args = parser.parse_args(argv)
    os.environ["BENCH_DSN"] = plain_url(args.dsn)
    os.environ["BENCH_POOL"] = str(args.pool)
    uvicorn.run("bench.bare_api:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", proxy_headers=True)


if __name__ == "__main__":
    main()
