"""`dispatch demo load`: the expected region, and the same state when loaded twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import asyncpg

from dispatch.core.databases import plain_url
from dispatch.tools.demo import DEMO_DATA
from tests.support import load_demo_into

# The contents of each table, minus timestamps, as one digest.
SNAPSHOT = {
    "areas": "SELECT code, level, name, parent_code, ST_AsEWKB(geom) FROM areas ORDER BY code",
    "agencies": "SELECT code, name, kind, ST_AsEWKB(station), ST_AsEWKB(coverage), active,"
                " is_fallback, phone FROM agencies ORDER BY code",
    "categories": "SELECT code, name, name_id, agency_kinds, default_priority, active"
                  " FROM categories ORDER BY code",
    "users": "SELECT username, role, agency_code, password_hash FROM users ORDER BY username",
}


async def _snapshot(url: str) -> dict[str, tuple[int, str]]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        result = {}
        for table, query in SNAPSHOT.items():
            rows = await conn.fetch(query)
            digest = await conn.fetchval(
                f"SELECT md5(string_agg(t::text, '|')) FROM ({query}) t"
            )
            result[table] = (len(rows), digest)
        return result
    finally:
        await conn.close()


def _expected_counts() -> dict[str, int]:
    """Counted from the shipped files, not written from memory."""
    features = []
    for name in ("desa_kota_mojokerto", "desa_kab_mojokerto"):
        features += json.loads((DEMO_DATA / f"{name}.geojson").read_text())["features"]
    kelurahan = {f["properties"]["code"] for f in features}
    kecamatan = {f["properties"]["kecamatan_code"] for f in features}
    kabkota = {f["properties"]["kabkota_code"] for f in features}
    provinsi = {f["properties"]["provinsi_code"] for f in features}
    agencies = json.loads((DEMO_DATA / "agencies.geojson").read_text())["features"]
    categories = json.loads((DEMO_DATA / "categories.json").read_text())["categories"]
    return {
        "areas": len(kelurahan) + len(kecamatan) + len(kabkota) + len(provinsi),
        "agencies": len(agencies),
        "categories": len(categories),
        "users": 5 + len(agencies),
    }


async def test_demo_load_counts_and_idempotence(make_database) -> None:
    url = await make_database(migrated=True)
    await load_demo_into(url)
    first = await _snapshot(url)
    expected = _expected_counts()
    assert expected["areas"] == 1 + 2 + 21 + 322  # provinsi, kabkota, kecamatan, kelurahan
    assert {table: count for table, (count, _) in first.items()} == expected
    await load_demo_into(url)
    assert await _snapshot(url) == first


async def test_demo_region_hierarchy(database_url: str) -> None:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        levels = dict(await conn.fetch("SELECT level, count(*) FROM areas GROUP BY level"))
        orphans = await conn.fetchval(
            "SELECT count(*) FROM areas a LEFT JOIN areas p ON p.code = a.parent_code"
            " WHERE a.level <> 'provinsi' AND p.code IS NULL"
        )
        mentikan = await conn.fetchrow(
            "SELECT code, name, parent_code FROM areas WHERE level = 'kelurahan' AND"
            " ST_Contains(geom, ST_SetSRID(ST_MakePoint(112.43, -7.47), 4326))"
        )
        fallbacks = dict(await conn.fetch("SELECT kind, code FROM agencies WHERE is_fallback"))
    finally:
        await conn.close()
    assert levels == {"provinsi": 1, "kabkota": 2, "kecamatan": 21, "kelurahan": 322}
    assert orphans == 0
    # The data's own documented check point.
    assert (mentikan["name"], mentikan["parent_code"]) == ("Mentikan", "35.76.01")
    assert fallbacks["police"] == "POLRES-MJK-KOTA"
    assert set(fallbacks) == {"police", "fire", "health", "disaster", "sar", "utility"}


def _demo_load_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DISPATCH_SECRET_KEY": "k" * 40,
           "COLUMNS": "80", "TERM": "xterm"}
    return subprocess.run([sys.executable, "-m", "dispatch.tools.cli", "demo", "load"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_demo_accounts_print_whole_in_80_columns(make_database) -> None:
    """Every demo password readable in full on an 80-column terminal (a table with a
    cut-off `polsek-prajuritkulon-de…` was what an operator saw)."""
    result = _demo_load_cli(await make_database(migrated=True))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    usernames = json.loads((DEMO_DATA / "agencies.geojson").read_text())["features"]
    for feature in usernames:
        name = feature["properties"]["code"].lower()
        assert any(line.split() == [name, f"{name}-demo-112", "agency"] for line in lines), name
    assert any(line.split() == ["operator", "operator-demo-112", "operator"] for line in lines)


async def test_demo_load_before_the_migrations_says_what_to_do(make_database) -> None:
    result = _demo_load_cli(await make_database(migrated=False))
    assert result.returncode == 1
    assert "dispatch db upgrade" in result.stderr and "Traceback" not in result.stderr
