"""The fuzz suite's long run: the same properties as ``tests/fuzz``, many more examples, and figures.

CI runs ``tests/fuzz`` deterministically with a few thousand examples in all (profile ``fuzz-ci``).
This runs it with profile ``fuzz-long``: randomized (``--seed`` makes a run repeatable), ``--scale``
times the examples of each property, then prints per property the examples run, the records in
and how they came out (ingested / quarantined / refused files), the peak memory of the large
inputs, and the wall time. A failure prints hypothesis' falsifying example and the seed to replay
it; add it to the property as an ``@example`` once the service code is fixed.

Needs what the suite needs: the keyring is not used, PostgreSQL is (``source /tmp/…/env.sh`` or run
inside ``scripts/test.sh``'s environment), or ``--sqlite-only``. Run from the repository root:

    .venv/bin/python bench/fuzz_long.py [--scale 20] [--seed N] [-k EXPR] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20, help="examples per property, as a multiple of CI's")
    parser.add_argument("--seed", type=int, help="hypothesis seed (default: a random one, printed)")
    parser.add_argument("-k", dest="select", help="only properties matching this pytest -k expression")
    parser.add_argument("--sqlite-only", action="store_true",
                        help="skip the PostgreSQL half of the database properties")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    with tempfile.TemporaryDirectory(prefix="fuzz-long-") as tmp:
        report = Path(tmp) / "figures.json"
        env = {**os.environ, "RLS_FUZZ_PROFILE": "fuzz-long", "RLS_FUZZ_SCALE": str(args.scale),
               "RLS_FUZZ_REPORT": str(report), "PYTHONPATH": str(ROOT)}
        if args.sqlite_only:
            env.pop("RLS_TEST_PG_URL", None)
            env["RLS_ALLOW_NO_PG"] = "1"
        cmd = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "fuzz"), "-q", "-p", "no:cacheprovider",
               f"--hypothesis-seed={seed}", f"--basetemp={Path(tmp) / 'pytest'}", "-o", "timeout=0"]
        if args.select:
            cmd += ["-k", args.select]
        print(f"fuzz-long: scale ×{args.scale}, seed {seed}", flush=True)
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
        elapsed = time.monotonic() - started
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {"properties": {}}
    print_figures(data["properties"])
    total = sum(row.get("examples", 0) for row in data["properties"].values())
    verdict = "all properties held" if done.returncode == 0 else f"FAILED (replay with --seed {seed})"
    print(f"\n{total:,} examples in {elapsed:.0f} s — {verdict}")
    return done.returncode


def print_figures(properties: dict[str, dict[str, int]]) -> None:
    columns = ("examples", "records", "ingested", "quarantined", "refused", "deliveries", "handed_on", "rules",
               "problems", "saved", "peak_bytes")
    shown = [c for c in columns if any(c in row for row in properties.values())]
    heads = ["property", *(("peak MB" if c == "peak_bytes" else c.replace("_", " ")) for c in shown)]
    rows = [[name, *(_cell(row, c) for c in shown)] for name, row in properties.items()]
    widths = [max(len(str(r[i])) for r in [heads, *rows]) for i in range(len(heads))]
    print()
    for r in [heads, *rows]:
        print("  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths,
                                                                                                      strict=True))))


def _cell(row: dict[str, int], column: str) -> str:
    if column not in row:
        return ""
    return f"{row[column] / 2**20:.1f}" if column == "peak_bytes" else f"{row[column]:,}"


if __name__ == "__main__":
    sys.exit(main())
