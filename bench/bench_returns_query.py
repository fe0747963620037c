"""The Returns grid's queries at 100,000 returns: count + first and deepest windows, and a search.

Targets: count + two windows under 2 s, a customer search under 2 s (on a quiet machine). Seeds a
SQLite file (or ``--db URL``, an empty database) with the same rows the correctness test uses
(``store.testing.seed_returns_grid``), then prints the timings and exits 1 above a target. Run:
``.venv/bin/python bench/bench_returns_query.py [--returns 100000] [--db URL]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.services.queries.returns import ReturnFilter, ReturnsQuery
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import ReturnSyncStatus
from desktop.services.store.testing import seed_returns_grid

STATUSES = [ReturnSyncStatus.NEW, ReturnSyncStatus.READY, ReturnSyncStatus.POSTED, ReturnSyncStatus.QUARANTINED,
            ReturnSyncStatus.SUPERSEDED]
TARGET_S = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--db", help="an empty database URL (default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        db = Database(url)
        seed_returns_grid(db, args.returns, datetime(2026, 11, 1, tzinfo=UTC), STATUSES)
        q = ReturnsQuery(db)
        started = time.perf_counter()
        total = q.count(ReturnFilter())
        q.window(ReturnFilter(), 0, 200)
        q.window(ReturnFilter(), max(0, total - 150), 200)
        windows = time.perf_counter() - started
        started = time.perf_counter()
        hits = q.window(ReturnFilter(text="grace"), 0, 500)
        search = time.perf_counter() - started
        db.dispose()
    print(f"{args.returns:,} returns ({total:,} shown): count + two windows {windows:.3f} s, "
          f"search {search:.3f} s ({len(hits)} hits); target {TARGET_S:.1f} s each")
    return 0 if windows < TARGET_S and search < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
