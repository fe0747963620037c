"""Streaming file import: a generated N-return RMS export (default 1,000,000) imported into SQLite.

The export is written to disk row by row (never built in memory): a CSV in the documented format
(``docs/rms-file-import.md``), one to three lines per return with US sales tax, a fee on every
fourth, and every hundredth return damaged so the quarantine path is exercised too — or, with
``--format json``, the same returns as a JSON list. It is then imported through the app's own path
(:func:`desktop.services.rms.file_import.import_file`, as ``returns-ledger import`` runs it, with
the event-log writer attached) into a fresh SQLite database, on one core.

Prints the file size, returns/s (wall and CPU), peak memory (``ru_maxrss`` of the import, run in a
child process so generating the file does not count; and ``tracemalloc``'s peak of Python
allocations with ``--tracemalloc``, which slows the run), and checks the counts against the
database: every return ingested or quarantined. Targets (issue 14): >= 10,000 returns/s and peak
RSS < 300 MB for 1,000,000 returns. Run::

    .venv/bin/python bench/bench_import_stream.py [--returns|--count 1000000] [--format csv|json] [--keep DIR]
        [--profile FILE]   # cProfile stats of the import (e.g. at 20,000–50,000 returns, with --keep)
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RATE = 10_000.0
TARGET_RSS_MB = 300.0
ORG = "BENCH-US"
PROFILE = {"code": ORG, "name": "Bench Inc.", "country": "US", "home_currency": "USD", "currencies": ["USD"],
           "timezone": "America/New_York",
           "tax_jurisdictions": [{"code": "US-CA", "name": "California", "rate": "0.0725"},
                                 {"code": "US-CA-LA", "name": "Los Angeles", "rate": "0.0225"}]}
HEADER = ["id", "rma_number", "revision", "organization", "customer_id", "customer_name", "customer_email",
          "channel", "warehouse", "currency", "created_at", "updated_at", "refund_method", "status",
          "refund_total", "line_id", "sku", "description", "quantity", "unit_price", "reason_code",
          "disposition", "tax_US-CA", "tax_US-CA-LA", "restocking_fee"]
REASONS = ["DAMAGED", "WRONG_ITEM", "NOT_AS_DESCRIBED", "CHANGED_MIND", "DEFECTIVE", "SIZE_FIT"]
DISPOSITIONS = ["RESTOCK", "REFURBISH", "SCRAP", "RETURN_TO_VENDOR"]


def _cents(n: int) -> str:
    return f"{n // 100}.{n % 100:02d}"


def one_return(n: int, rng: random.Random) -> list[dict[str, str]]:
    """The CSV rows of return ``n`` (a return-level dict per line, fields repeated as the format says)."""
    at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    lines = []
    total = 0
    for k in range(1 + n % 3):
        qty = 1 + rng.randrange(3)
        price = 500 + rng.randrange(30_000)
        net = qty * price
        ca = (net * 725 + 5000) // 10_000
        la = (net * 225 + 5000) // 10_000
        total += net + ca + la
        lines.append({"line_id": f"ln_{k + 1}", "sku": f"SKU-{rng.randrange(5000):05d}",
                      "description": f"Item {n}-{k}", "quantity": str(qty), "unit_price": _cents(price),
                      "reason_code": REASONS[(n + k) % len(REASONS)],
                      "disposition": DISPOSITIONS[(n + k) % len(DISPOSITIONS)],
                      "tax_US-CA": _cents(ca), "tax_US-CA-LA": _cents(la)})
    fee = 250 + n % 700 if n % 4 == 0 and total > 2_000 else 0
    total -= fee
    head = {"id": f"ret_{n:08d}", "rma_number": f"RMA-B-{n:08d}", "revision": "1", "organization": ORG,
            "customer_id": f"cus_{n % 9973}", "customer_name": f"Customer {n % 9973}",
            "customer_email": f"c{n % 9973}@example.com", "channel": "web", "warehouse": "WH-1",
            "currency": "USD", "created_at": at, "updated_at": at,
            "refund_method": "original_payment" if n % 5 else "store_credit", "status": "received",
            "refund_total": _cents(total), "restocking_fee": _cents(fee) if fee else ""}
    if n % 100 == 99:  # damaged: quarantined with a reason
        lines[0]["unit_price"] = "12.3.4"
    return [{**head, **line} for line in lines]


def generate(path: Path, count: int, fmt: str) -> None:
    """Write ``count`` returns to ``path``, return by return (constant memory)."""
    import csv
    rng = random.Random(14)
    with path.open("w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            writer = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\r\n")
            writer.writeheader()
            for n in range(count):
                writer.writerows(one_return(n, rng))
            return
        fh.write("[\n")
        for n in range(count):
            rows = one_return(n, rng)
            head = rows[0]
            doc: dict[str, Any] = {k: head[k] for k in HEADER[:15] if not k.startswith("customer_")}
            doc["customer"] = {"id": head["customer_id"], "name": head["customer_name"],
                               "email": head["customer_email"]}
            doc["lines"] = [{"line_id": r["line_id"], "sku": r["sku"], "description": r["description"],
                             "quantity": int(r["quantity"]), "unit_price": r["unit_price"],
                             "reason_code": r["reason_code"], "disposition": r["disposition"],
                             "tax": [{"jurisdiction": "US-CA", "rate": "0.0725", "amount": r["tax_US-CA"]},
                                     {"jurisdiction": "US-CA-LA", "rate": "0.0225", "amount": r["tax_US-CA-LA"]}]}
                            for r in rows]
            fee = head["restocking_fee"]
            doc["fees"] = [{"type": "restocking_fee", "amount": fee}] if fee else []
            fh.write(("," if n else "") + json.dumps(doc) + "\n")
        fh.write("]\n")


def run_import(path: Path, db_path: Path | str, expect: int, use_tracemalloc: bool, event_log: bool,
               profile: str | None = None) -> int:
    """The child: import ``path`` into a fresh SQLite database (or the empty database at the URL
    ``db_path``) and print the figures as JSON."""
    import tracemalloc

    import sqlalchemy as sa

    from desktop.services.auth.roles import Actor, Role
    from desktop.services.core.clock import SystemClock
    from desktop.services.core.events import EventBus
    from desktop.services.rms.context import PROFILE_KEY
    from desktop.services.rms.file_import import import_file
    from desktop.services.rms.ingest import IngestService
    from desktop.services.store.db import Database
    from desktop.services.store.event_sink import EventLogSink
    from desktop.services.store.migrate import upgrade
    from desktop.services.store.models import Organization, Platform, QuarantineReason, Return

    url = db_path if isinstance(db_path, str) else f"sqlite:///{db_path}"
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    with db.write_session() as s:
        s.add(Organization(code=ORG, name="Bench Inc.", platform=Platform.QBO, timezone="America/New_York",
                           home_currency="USD", settings={PROFILE_KEY: PROFILE}, created_at=now, updated_at=now))
    clock = SystemClock()
    bus = EventBus(clock)
    sink = EventLogSink(db)
    if event_log:
        sink.attach(bus)
    service = IngestService(db, bus, clock)
    kwargs: dict[str, Any] = {}
    ticks = [0]
    if "progress" in inspect.signature(import_file).parameters:
        def progress(p: Any) -> None:
            ticks[0] += 1
        kwargs["progress"] = progress
    if use_tracemalloc:
        tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    result = import_file(service, path, ORG, Actor("bench", Role.OPERATOR), **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    traced = tracemalloc.get_traced_memory()[1] if use_tracemalloc else None
    sink.close(timeout=600)
    with db.session() as s:
        held = s.scalar(sa.select(sa.func.count()).select_from(Return)) or 0
        quarantined = s.scalar(sa.select(sa.func.count(sa.distinct(QuarantineReason.return_id)))) or 0
    db.dispose()
    print(json.dumps({"wall": wall, "cpu": cpu, "ingested": result.ingested, "quarantined": result.quarantined,
                      "held": held, "held_quarantined": quarantined, "expect": expect, "ticks": ticks[0],
                      "rss_before_kb": rss_before, "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "traced_peak": traced, "events_dropped": sink.dropped}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", "--count", dest="returns", type=int, default=1_000_000,
                        help="how many returns the generated file holds (default 1,000,000)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--keep", help="a folder to keep the file and database in (default: a temporary one); "
                        "a file of the same size and format already there is reused")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument("--no-event-log", action="store_true",
                        help="leave the event-log writer out (to see what it costs; the CLI has it)")
    parser.add_argument("--database-url", help="an EMPTY database to import into instead of a fresh SQLite file "
                        "(e.g. a new PostgreSQL database)")
    parser.add_argument("--profile", metavar="FILE",
                        help="profile the import (the main thread: not the event-log writer's) with cProfile and "
                        "write the stats to FILE (read them with python -m pstats FILE); slows the run")
    parser.add_argument("--child", nargs=3, metavar=("FILE", "DB", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        target = args.child[1] if "://" in args.child[1] else Path(args.child[1])
        return run_import(Path(args.child[0]), target, int(args.child[2]), args.tracemalloc,
                          not args.no_event_log, args.profile)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"returns-{args.returns}.{args.format}"
        db_path = folder / f"import-{args.returns}.sqlite3"
        db_path.unlink(missing_ok=True)
        started = time.perf_counter()
        reused = args.keep is not None and path.exists()  # generated from a fixed seed: the same file again
        if not reused:
            generate(path, args.returns, args.format)
        size = path.stat().st_size
        print(f"{'reused' if reused else 'generated'} {args.returns:,} returns, {size / 2**20:.1f} MB "
              f"{args.format.upper()}, in {time.perf_counter() - started:.1f} s")
        cmd = [sys.executable, __file__, "--child", str(path), args.database_url or str(db_path), str(args.returns)]
        cmd += ["--tracemalloc"] * args.tracemalloc + ["--no-event-log"] * args.no_event_log
        cmd += ["--profile", str(Path(args.profile).resolve())] if args.profile else []
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=os.environ.copy())
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, sep="\n")
            return 1
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    rate = args.returns / out["wall"]
    peak_mb = out["rss_peak_kb"] / 1024
    print(f"imported in {out['wall']:.1f} s wall, {out['cpu']:.1f} s CPU: {rate:,.0f} returns/s "
          f"({args.returns / out['cpu']:,.0f} per CPU second)")
    print(f"peak RSS {peak_mb:.0f} MB (before the import {out['rss_before_kb'] / 1024:.0f} MB)"
          + (f"; tracemalloc peak {out['traced_peak'] / 2**20:.0f} MB" if out["traced_peak"] is not None else ""))
    accounted = out["ingested"] + out["quarantined"]
    print(f"counts: {out['ingested']:,} ingested + {out['quarantined']:,} quarantined = {accounted:,} of "
          f"{args.returns:,}; database holds {out['held']:,} returns, {out['held_quarantined']:,} with a "
          f"quarantine reason; {out['ticks']} progress reports; {out['events_dropped']} events dropped")
    ok_count = accounted == args.returns == out["held"] and out["held_quarantined"] == out["quarantined"]
    verdict = ("OK" if rate >= TARGET_RATE and peak_mb < TARGET_RSS_MB else "BELOW TARGET")
    print(f"targets: >= {TARGET_RATE:,.0f} returns/s, < {TARGET_RSS_MB:.0f} MB: {verdict}; "
          f"counts {'match' if ok_count else 'DO NOT MATCH'}")
    return 0 if ok_count else 1


if __name__ == "__main__":
    sys.exit(main())
