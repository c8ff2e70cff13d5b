"""Reverse geocoding: the in-memory AreaIndex against PostGIS, on Mojokerto and on Indonesia.

    python -m bench.bench_reverse_geocode [--national PATH] [--points N] [--database-url URL]

For each dataset: load and index build time, one-at-a-time `locate` (µs per lookup: the mean
over N random points inside the dataset's bbox, median of several repetitions), batched
`locate_many` (µs per point), and the same lookup by PostGIS, one query at a time over the
same points, in a scratch database (siaga112_bench_geo) created here and dropped at the end.
Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import shapely

from dispatch.core.databases import drop_database, with_database
from geo.area_codes import Area, AreaMatch, parent_code
from geo.area_geojson import load_areas_geojson
from geo.areas import AreaIndex

REPO = Path(__file__).resolve().parents[1]
MOJOKERTO_DIRS = (REPO / "dispatch" / "tools" / "demo_data", Path("/work/shared/data/mojokerto"))
MOJOKERTO_FILES = ("desa_kota_mojokerto.geojson", "desa_kab_mojokerto.geojson")
NATIONAL = Path("/work/shared/data/benchmark/indonesia_desa_5dp.geojson.gz")
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SCRATCH_DB = "siaga112_bench_geo"
LOOKUP_SQL = "SELECT code FROM t WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))"

Point = tuple[float, float]  # (lat, lon)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def mojokerto_paths() -> list[Path]:
    for folder in MOJOKERTO_DIRS:
        paths = [folder / name for name in MOJOKERTO_FILES]
        if all(p.is_file() for p in paths):
            return paths
    raise SystemExit(f"no Mojokerto desa files in {[str(d) for d in MOJOKERTO_DIRS]}")


def synthetic_areas(count: int, seed: int = 1) -> list[Area]:
    """Voronoi cells of random points over Java's rough extent: adjacent polygons that share
    their borders, with fixed-width codes 99.KK.CC.DDDD."""
    rng = np.random.default_rng(seed)
    extent = shapely.box(105.0, -8.8, 114.6, -5.9)
    seeds = shapely.multipoints(
        np.column_stack([rng.uniform(105.0, 114.6, count), rng.uniform(-8.8, -5.9, count)])
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=extent))
    cells = shapely.intersection(cells, extent)
    areas = []
    for i, cell in enumerate(cells.tolist()):
        code = f"99.{i // 10000 + 1:02d}.{i // 100 % 100 + 1:02d}.{i % 100 + 2001:04d}"
        areas.append(Area(code, f"Synthetic {i}", "kelurahan", parent_code(code), cell))
    return areas


def random_points(bounds: Sequence[float], count: int, seed: int) -> list[Point]:
    min_x, min_y, max_x, max_y = bounds
    rng = np.random.default_rng(seed)
    lats = rng.uniform(min_y, max_y, count)
    lons = rng.uniform(min_x, max_x, count)
    return list(zip(lats.tolist(), lons.tolist(), strict=True))


def land_points(index_areas: Sequence[Area], count: int, seed: int) -> list[Point]:
    """Uniform in the bbox of a random kelurahan: a sample weighted to where people live."""
    rng = np.random.default_rng(seed)
    geoms = np.array([a.geometry for a in index_areas], dtype=object)
    bounds = shapely.bounds(geoms[rng.integers(0, len(geoms), count)])
    lats = rng.uniform(bounds[:, 1], bounds[:, 3])
    lons = rng.uniform(bounds[:, 0], bounds[:, 2])
    return list(zip(lats.tolist(), lons.tolist(), strict=True))


def time_single(index: AreaIndex, points: list[Point], repetitions: int) -> dict[str, float]:
    locate = index.locate
    per_rep = []
    for _ in range(repetitions):
        started = time.perf_counter_ns()
        for lat, lon in points:
            locate(lat, lon)
        per_rep.append((time.perf_counter_ns() - started) / len(points) / 1000)
    each = []
    clock = time.perf_counter_ns
    for lat, lon in points:
        started = clock()
        locate(lat, lon)
        each.append(clock() - started)
    each_us = np.array(each) / 1000
    return {
        "us_per_lookup_median": round(statistics.median(per_rep), 2),
        "us_per_lookup_min": round(min(per_rep), 2),
        "us_p50_individual": round(float(np.percentile(each_us, 50)), 2),
        "us_p99_individual": round(float(np.percentile(each_us, 99)), 2),
    }


def time_batch(index: AreaIndex, points: list[Point], repetitions: int) -> float:
    per_rep = []
    for _ in range(repetitions):
        started = time.perf_counter_ns()
        index.locate_many(points)
        per_rep.append((time.perf_counter_ns() - started) / len(points) / 1000)
    return round(statistics.median(per_rep), 2)


def summarise(matches: list[AreaMatch | None]) -> dict[str, int]:
    return {
        "exact": sum(1 for m in matches if m is not None and m.exact),
        "gap_nearest": sum(1 for m in matches if m is not None and not m.exact),
        "outside": sum(1 for m in matches if m is None),
    }


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - started, 3)


def bench_index(
    name: str, areas: list[Area], source: str, n_points: int, repetitions: int
) -> tuple[dict[str, Any], dict[str, list[Point]], list[Area], AreaIndex]:
    kelurahan = [a for a in areas if a.level == "kelurahan" and a.geometry is not None]
    builds = []
    index = None
    for _ in range(3):
        index, seconds = timed(lambda: AreaIndex.build(areas, version=name))
        builds.append(seconds)
    assert index is not None
    bounds = shapely.total_bounds(np.array([a.geometry for a in kelurahan], dtype=object))
    samples = {
        "bbox": random_points(bounds, n_points, seed=112),
        "land": land_points(kelurahan, n_points, seed=113),
    }
    result: dict[str, Any] = {
        "source": source,
        "polygons": len(index),
        "vertices": int(sum(shapely.get_num_coordinates(a.geometry) for a in kelurahan)),
        "bbox": [round(v, 5) for v in bounds.tolist()],
        # The first build prepares the shared geometries in place (and warms their indexes);
        # later builds over the same Area objects reuse that, so they are not a cold figure.
        "build_s": builds[0],
        "rebuild_same_geometries_s": builds[1:],
    }
    for label, points in samples.items():
        log(f"{name}: timing {len(points)} {label} points")
        single = [index.locate(lat, lon) for lat, lon in points]
        batched = index.locate_many(points)
        result[f"points_{label}"] = {
            "n": len(points),
            "found": summarise(single),
            "locate_many_equals_locate": batched == single,
            "locate": time_single(index, points, repetitions),
            "locate_many_us_per_point": time_batch(index, points, repetitions),
        }
    return result, samples, kelurahan, index


async def connect_with_postgis(server_url: str, wait_s: float) -> asyncpg.Connection:
    """(Re)create the scratch database and its postgis extension, retrying while the
    package is still being installed."""
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {SCRATCH_DB}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(with_database(server_url, SCRATCH_DB))
    deadline = time.monotonic() + wait_s
    while True:
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            return conn
        except asyncpg.PostgresError as exc:
            if time.monotonic() > deadline:
                await conn.close()
                raise
            log(f"CREATE EXTENSION postgis failed ({exc}); retrying in 30 s")
            await asyncio.sleep(30)


async def load_table(conn: asyncpg.Connection, kelurahan: list[Area]) -> float:
    started = time.perf_counter()
    await conn.execute("DROP TABLE IF EXISTS t, t_wkb")
    await conn.execute("CREATE TABLE t_wkb (code text, wkb bytea)")
    await conn.copy_records_to_table(
        "t_wkb",
        records=[(a.code, shapely.to_wkb(a.geometry)) for a in kelurahan],
        columns=["code", "wkb"],
    )
    await conn.execute(
        "CREATE TABLE t AS SELECT code, ST_Multi(ST_GeomFromWKB(wkb, 4326))::geometry"
        "(MultiPolygon, 4326) AS geom FROM t_wkb"
    )
    await conn.execute("DROP TABLE t_wkb")
    await conn.execute("ALTER TABLE t ADD PRIMARY KEY (code)")
    await conn.execute("CREATE INDEX t_geom_gist ON t USING gist (geom)")
    await conn.execute("ANALYZE t")
    return round(time.perf_counter() - started, 2)


async def time_postgis(
    conn: asyncpg.Connection, points: list[Point], repetitions: int, index: AreaIndex
) -> dict[str, Any]:
    statement = await conn.prepare(LOOKUP_SQL)
    answers = []
    for lat, lon in points:  # warm-up, and the answers for the agreement check
        rows = await statement.fetch(lon, lat)
        answers.append(min((r["code"] for r in rows), default=None))
    per_rep = []
    for _ in range(repetitions):
        started = time.perf_counter_ns()
        for lat, lon in points:
            await statement.fetch(lon, lat)
        per_rep.append((time.perf_counter_ns() - started) / len(points) / 1000)
    # ST_Contains excludes the boundary and has no gap fallback; compare on exact matches.
    mine = [index.locate(lat, lon) for lat, lon in points]
    both = [(m.kelurahan.code, a) for m, a in zip(mine, answers, strict=True) if m and m.exact]
    return {
        "us_per_lookup_median": round(statistics.median(per_rep), 2),
        "us_per_lookup_min": round(min(per_rep), 2),
        "agrees_with_index_on_exact_matches": f"{sum(x == y for x, y in both)}/{len(both)}",
    }


async def bench_postgis(
    server_url: str,
    datasets: dict[str, tuple[list[Area], dict[str, list[Point]], AreaIndex]],
    repetitions: int,
    wait_s: float,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    conn = None
    try:
        conn = await connect_with_postgis(server_url, wait_s)
        out["postgis_version"] = await conn.fetchval("SELECT postgis_full_version()")
        out["query"] = LOOKUP_SQL
        for name, (kelurahan, samples, index) in datasets.items():
            log(f"{name}: loading {len(kelurahan)} polygons into PostGIS")
            entry: dict[str, Any] = {"load_and_index_s": await load_table(conn, kelurahan)}
            for label, points in samples.items():
                log(f"{name}: PostGIS over {len(points)} {label} points")
                entry[f"points_{label}"] = await time_postgis(conn, points, repetitions, index)
            out[name] = entry
    finally:
        if conn is not None:
            await conn.close()
        await drop_database(server_url, SCRATCH_DB)
        log(f"dropped database {SCRATCH_DB}")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--national", type=Path, default=NATIONAL)
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--postgis-wait-s", type=float, default=600.0)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "shapely": shapely.__version__,
            "geos": shapely.geos_version_string,
            "cpus": os.cpu_count(),
            "loadavg_start": [round(v, 2) for v in os.getloadavg()],
        },
        "points": args.points,
        "repetitions": args.repetitions,
    }
    datasets: dict[str, tuple[list[Area], dict[str, list[Point]], AreaIndex]] = {}

    paths = mojokerto_paths()
    log(f"mojokerto: loading {[str(p) for p in paths]}")
    areas, load_s = timed(lambda: load_areas_geojson(paths))
    result, samples, kelurahan, index = bench_index(
        "mojokerto", areas, str(paths[0].parent), args.points, args.repetitions
    )
    report["mojokerto"] = {"load_s": load_s, **result}
    datasets["mojokerto"] = (kelurahan, samples, index)

    if args.national.is_file():
        log(f"national: loading {args.national}")
        areas, load_s = timed(lambda: load_areas_geojson(args.national))
        source = str(args.national)
    else:
        log(f"national: {args.national} is missing; generating 55,000 synthetic polygons")
        areas, load_s = timed(lambda: synthetic_areas(55_000))
        source = f"synthetic: {args.national} missing, 55,000 Voronoi cells"
    result, samples, kelurahan, index = bench_index(
        "national", areas, source, args.points, args.repetitions
    )
    report["national"] = {"load_s": load_s, **result}
    datasets["national"] = (kelurahan, samples, index)
    del areas

    if not args.no_postgis:
        postgis = asyncio.run(
            bench_postgis(args.database_url, datasets, args.repetitions, args.postgis_wait_s)
        )
        report["postgis"] = postgis
        ratios: dict[str, float] = {}
        for name in datasets:
            for label in ("bbox", "land"):
                pg = postgis[name][f"points_{label}"]["us_per_lookup_median"]
                mine = report[name][f"points_{label}"]
                ratios[f"{name}_{label}_postgis_over_locate"] = round(
                    pg / mine["locate"]["us_per_lookup_median"], 1
                )
                ratios[f"{name}_{label}_postgis_over_locate_many"] = round(
                    pg / mine["locate_many_us_per_point"], 1
                )
        report["ratio_postgis_us_over_index_us"] = ratios
    report["machine"]["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
