"""The command line: `python -m bench.harness [--quick] [--soak-s N] [--out FILE] ...`
parses the options, runs the harness, and prints the JSON document to stdout (and writes
it to --out); the package's docstring describes what it measures.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

import bench.harness
from bench.harness.common import DEFAULT_ADMIN_URL, PHASES
from bench.harness.runner import run


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(bench.harness.__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every part short (≈ 3 min)")
    parser.add_argument("--soak-s", type=float, default=None,
                        help="soak duration (default 60 s, 10 s with --quick; 600: full)")
    parser.add_argument("--out", type=Path, help="also write the JSON document here")
    parser.add_argument("--workers", type=int, default=2, help="service worker processes")
    parser.add_argument("--phases", help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--seed", type=int, default=112)
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL",
                                                              DEFAULT_ADMIN_URL),
                        help="a role that may create databases and extensions")
    parser.add_argument("--no-compression", action="store_true",
                        help="clients do not offer permessage-deflate")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the workers of the bare API and of the service during "
                        "intake, e2e and fan-out (needs .venv/bin/py-spy)")
    parser.add_argument("--year-of-data", action="store_true",
                        help="before the service starts, load bench_stats' year (1.1 M calls, "
                        "385 k incidents, all closed) and VACUUM ANALYZE (≈ 70 s more)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--log-dir", help="server logs and profiles (default: "
                        "$TMPDIR/siaga112-bench)")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 16:
        parser.error("--workers 1..16")
    if args.soak_s is not None and not 1 <= args.soak_s <= 7200:
        parser.error("--soak-s 1..7200")
    results = run(args)
    text = json.dumps(results, indent=2, default=str)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text, flush=True)


if __name__ == "__main__":
    main()
