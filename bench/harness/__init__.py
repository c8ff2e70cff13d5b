"""Siaga112 performance harness (issues 6 and 8): one command, one JSON document.

    python -m bench.harness [--quick] [--soak-s N] [--out bench/results/NAME.json]
                            [--workers 2] [--phases intake,e2e,...] [--profile]
                            [--year-of-data] [--keep-db]

Creates a scratch database (siaga112_bench_<random>: postgis, pg_trgm, migrations, the
demo region), starts the service as separate processes (`python -m dispatch.cli serve
--workers N`), drives it from separate processes (multiprocessing, spawn: the driver's and
the subscribers' CPU never share the server's event loop), and measures, each beside its
limit measured in the same run:

* intake: POST /v1/calls with a category, closed loop at saturation (calls/s) and open loop
  at half that rate (p50/p99); beside `bench/bare_insert.py` (asyncpg INSERT … RETURNING
  on a table as wide as calls, the service's connection count) and `bench/bare_api.py`
  (FastAPI + uvicorn doing that insert, served the same way); for all three, the cores
  each role used (`cpu_cores`: the CPU one request costs where);
* e2e: 201 received by the driver → the assignment frame received by the agency's
  subscriber (time.time_ns on both sides, one machine), 100 calls/s of realistic traffic
  (30 % prank/ghost) with 500 subscribers spread over the 16 demo agency feeds and the
  supervisors' /v1/feed; beside `bench/bare_broadcast.py` replaying the same frames (same
  groups, same sizes, same clients);
* fan-out: a burst of calls to 1,000 subscribers of /v1/feed (every subscriber gets every
  frame): frames delivered per second, beside the bare broadcast of as many frames;
* surge: 10× the steady rate for 60 s (open loop, 64 requests in flight): every 201 must be
  in the database and in every feed it belongs to; how long the backlog takes to drain;
* soak: the service restarted, warmed up, then steady traffic for --soak-s seconds (default
  60; 600 is the full soak): RSS of each worker at start and end.

Settings for the service under test: DISPATCH_LOG_LEVEL=WARNING; the per-token rate limit
raised (the driver is one token standing for many consoles); acknowledgement time-outs of a
day (no escalation storm from earlier phases leaks into later ones). `--quick` runs every
part for a few seconds with few subscribers (≈ 3 min); the default run takes ≈ 15–25 min.
`--year-of-data` loads bench/bench_stats.py's year (1.1 M calls, 385 k closed incidents)
into the scratch database before anything runs (year_of_data.py; ≈ 70 s more), for the
intake's growth criterion (within 10 % of its rate on the empty database).
Progress goes to stderr; the JSON document to stdout (and to --out).
"""
