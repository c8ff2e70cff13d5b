"""Database URLs and connections: the one place that rewrites a URL between the libpq form
(asyncpg, psql) and SQLAlchemy's, connects to whichever host of a primary/standby list is
the primary, and creates and drops whole databases on a server (test runs, benchmarks, the
set-up of a new installation; those take plain `postgresql://` URLs)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

EXTENSIONS = ("postgis", "pg_trgm", "btree_gist")


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


# A primary and its standbys in one URL (README, "How it runs"). libpq, psql and asyncpg
# take the hosts in the authority, `postgresql://u@db1:5432,db2:5432/siaga112?
# target_session_attrs=read-write`; SQLAlchemy's asyncpg dialect cannot parse that (it
# reads "5432,db2:5432" as a port) and takes them as repeated query parameters instead,
# `postgresql+asyncpg://u@/siaga112?host=db1:5432&host=db2:5432&…`. The two functions
# below convert between the forms, keeping every other parameter (target_session_attrs
# above all), so each consumer gets the form it parses; single-host URLs only change scheme.
DEFAULT_PORT = "5432"


def _split(url: str) -> tuple[str, str, str, list[str]]:
    """(userinfo with its "@" or "", host list of the authority, path, query pieces)."""
    rest = url.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    return userinfo + at, hosts, slash + path, [q for q in query.split("&") if q]


def _join(scheme: str, userinfo: str, hosts: str, path: str, query: list[str]) -> str:
    return f"{scheme}://{userinfo}{hosts}{path}" + ("?" + "&".join(query) if query else "")


def plain_url(url: str) -> str:
    """`postgresql+asyncpg://…` → `postgresql://…` (what asyncpg and psql take); hosts in
    `?host=` parameters move into the authority as a comma-separated list."""
    userinfo, hosts, path, query = _split(url)
    listed = [unquote(q[5:]) for q in query if q.startswith("host=")]
    if len(listed) > 1 and not hosts:
        hosts = ",".join(listed)
        query = [q for q in query if not q.startswith("host=")]
    return _join("postgresql", userinfo, hosts, path, query)


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` → `postgresql+asyncpg://…` (what the service's settings take); a
    comma-separated host list becomes `?host=host:port` parameters, each with its port
    (SQLAlchemy requires them: a missing one is 5432, as for libpq)."""
    userinfo, hosts, path, query = _split(url)
    if "," in hosts:
        listed = []
        for host in hosts.split(","):
            if host.startswith("[") or host.count(":") > 1:
                raise ValueError("must name its hosts by name or IPv4 address when it "
                                 "lists several (SQLAlchemy cannot read IPv6 ones)")
            name, _, port = host.partition(":")
            if not name:
                raise ValueError("must not list an empty host")
            listed.append(f"host={name}:{port or DEFAULT_PORT}")
        hosts, query = "", [*listed, *query]
    return _join("postgresql+asyncpg", userinfo, hosts, path, query)


def host_dsns(url: str) -> list[str]:
    """One plain URL per host of `url`, in its order, each with the user, database and
    parameters of the whole."""
    userinfo, hosts, path, query = _split(plain_url(url))
    return [_join("postgresql", userinfo, host, path, query) for host in hosts.split(",")]


# Why connect_any tries the next host: this one is away (refused, unreachable, silent),
# starting or stopping, or not what target_session_attrs asks for (a standby).
_NEXT_HOST = (OSError, TimeoutError, asyncpg.TargetServerAttributeNotMatched,
              asyncpg.CannotConnectNowError)


async def connect_any(
    url: str, *, timeout: float, **options: Any,  # noqa: ASYNC109 (asyncpg.connect's name)
) -> asyncpg.Connection:
    """`asyncpg.connect` to the first host of `url` that takes it, each host with its own
    `timeout`. asyncpg spends one timeout on the whole host list: a primary that lost its
    power (silent, not refusing) listed first used all of it, and the promoted standby
    behind it was never tried (measured: every connection TimeoutError after 3.0 s)."""
    unreachable: BaseException | None = None
    mismatch: BaseException | None = None
    for one in host_dsns(url):
        try:
            return await asyncpg.connect(one, timeout=timeout, **options)
        except asyncpg.TargetServerAttributeNotMatched as exc:
            mismatch = exc
        except _NEXT_HOST as exc:
            unreachable = exc
    # Like asyncpg: a host that could not be reached explains more than one that could.
    failure = unreachable or mismatch
    assert failure is not None
    raise failure


async def create_database(server_url: str, name: str, *, replace: bool = False) -> str:
    """Create `name` with the extensions the schema needs; returns its plain URL."""
    admin = await asyncpg.connect(plain_url(server_url))
    try:
        if replace:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(plain_url(server_url), name)
    conn = await asyncpg.connect(url)
    try:
        for extension in EXTENSIONS:
            await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    finally:
        await conn.close()
    return url


async def drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(plain_url(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
