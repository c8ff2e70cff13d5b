"""The audit hash chain: sealed in seq order, and tampering is found."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest

from dispatch.core.audit import Sealer, verify_chain
from dispatch.core.databases import plain_url

INSERT = ("INSERT INTO events (type, actor, entity, entity_id, after) "
          "VALUES ('call.created', 'operator', 'call', $1, '{\"n\": 1}') RETURNING seq")


@pytest.fixture
async def audited(make_database):
    url = await make_database(migrated=True)
    conn = await asyncpg.connect(plain_url(url))
    for i in range(5):
        await conn.fetchval(INSERT, f"c{i}")
    yield url, conn
    await conn.close()


async def test_seal_then_verify_ok(audited) -> None:
    _, conn = audited
    assert await Sealer().seal_pending(conn) == 5
    assert await Sealer().seal_pending(conn) == 0  # nothing new
    await conn.fetchval(INSERT, "c5")
    result = await verify_chain(conn)
    assert (result.ok, result.sealed, result.unsealed_tail) == (True, 5, 1)
    assert await Sealer().seal_pending(conn) == 1
    assert (await verify_chain(conn)).sealed == 6


async def test_event_log_cannot_be_changed_by_the_application(audited) -> None:
    _, conn = audited
    await Sealer().seal_pending(conn)
    for statement in ("UPDATE events SET actor = 'x'", "DELETE FROM event_seals",
                      "UPDATE event_seals SET hash = '\\x00'"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)


async def test_altered_event_breaks_the_chain(audited) -> None:
    _, conn = audited
    await Sealer().seal_pending(conn)
    # Only someone able to switch the trigger off (a superuser) can do this:
    await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
    third = await conn.fetchval("SELECT seq FROM events ORDER BY seq OFFSET 2 LIMIT 1")
    await conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = $1", third)
    result = await verify_chain(conn)
    assert not result.ok
    assert result.first_broken_seq == third and "altered" in result.problem


async def test_event_slipped_in_afterwards_is_found(audited) -> None:
    _, conn = audited
    await Sealer().seal_pending(conn)
    first = await conn.fetchval("SELECT min(seq) FROM events")
    await conn.execute("ALTER TABLE event_seals DISABLE TRIGGER event_seals_no_update_delete")
    await conn.execute("DELETE FROM event_seals WHERE seq = $1", first + 1)
    result = await verify_chain(conn)
    assert not result.ok and result.first_broken_seq == first + 1


def test_cli_audit_verify(audited) -> None:
    url, _ = audited
    env = {**os.environ, "DATABASE_URL": url, "DISPATCH_SECRET_KEY": "k" * 40}
    result = subprocess.run([sys.executable, "-m", "dispatch.tools.cli", "audit", "verify"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "5 events sealed and verified" in result.stdout
