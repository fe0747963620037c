"""Verifying a sealed audit trail of ``--entries`` entries (target: 100,000 in under 5 s).

Seeds a fresh database with a clean trail — each entry sealed with HMAC-SHA256 by the app's own
``audit.seal``, in contiguous sequence, with details like the sync's (document keys, amounts, ids) —
then runs the same verification ``returns-ledger audit verify`` runs (every seal, the sequence, the
links, and the checkpoint comparison and update), ``--runs`` times. Prints the seeding time, the best
and median verification (wall clock, and the CPU time it used: on a busy machine the two differ) and
entries per second; exits 1 when the best run is over the target.

The key is held in memory here (an ``AuditKeyring`` whose storage is a dict), so the benchmark needs
no OS keyring; reading the key from a real keyring happens once per process and costs milliseconds.

    .venv/bin/python bench/bench_audit_verify.py [--entries 100000] [--runs 3] [--db URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.admin.audit_checkpoint import database_label, verify_and_checkpoint
from desktop.services.admin.audit_keys import AuditKeyring
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog

TARGET_S = 5.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryKeys(AuditKeyring):
    """The audit keyring with a dict for storage (the benchmark measures verification, not D-Bus)."""

    def __init__(self) -> None:
        super().__init__("bench")
        self._store: dict[str, str] = {}

    def _get(self, user: str) -> str | None:
        return self._store.get(user)

    def _set(self, user: str, value: str) -> None:
        self._store[user] = value


def seed(db: Database, keys: AuditKeyring, n: int, chunk: int = 5000) -> None:
    kid, key = keys.current()
    prev = audit.GENESIS
    for start in range(1, n + 1, chunk):
        rows = []
        for seq in range(start, min(start + chunk, n + 1)):
            at = T0 + timedelta(seconds=seq)
            actor, action = ("system", "document.posted") if seq % 4 else ("alice", "mapping.changed")
            target = f"rls-{seq:026d}"
            details = {"doc_type": "CreditMemo", "remote_id": str(1000 + seq), "number": f"RMA-{seq}-1C",
                       "total": f"{seq % 997}.{seq % 100:02d}", "currency": "USD"}
            keyed_from = 1 if seq == 1 else None
            own = audit.seal(key, seq, prev, at, actor, action, target, None, f"RMA-{seq}", kid, keyed_from, details)
            rows.append({"seq": seq, "occurred_at": at, "actor": actor, "action": action, "target": target,
                         "organization_id": None, "rma": f"RMA-{seq}", "details": details, "prev_hash": prev,
                         "hash": own, "key_id": kid, "keyed_from": keyed_from})
            prev = own
        with db.write_session() as s:
            s.execute(sa.insert(AuditLog), rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'audit.sqlite3'}"
        upgrade(url)
        db = Database(url)
        keys = MemoryKeys()
        try:
            started = time.perf_counter()
            seed(db, keys, args.entries)
            took = time.perf_counter() - started
            print(f"seeded {args.entries:,} sealed entries in {took:.1f} s ({url.split(':')[0]})")
            times: list[float] = []
            for run in range(args.runs):
                started, cpu = time.perf_counter(), time.process_time()
                with db.session() as s:
                    report, _cp = verify_and_checkpoint(s, Path(tmp), database_label(url), datetime.now(UTC),
                                                        keys=keys)
                times.append(time.perf_counter() - started)
                cpu = time.process_time() - cpu
                if not report.intact or report.entries != args.entries:
                    print(f"run {run + 1}: NOT INTACT — {report.reason}")
                    return 1
                print(f"run {run + 1}: {times[-1]:.2f} s ({cpu:.2f} s of CPU) — {report.checkpoint}")
        finally:
            db.dispose()
    best, median = min(times), statistics.median(times)
    verdict = "OK" if best < TARGET_S else "ABOVE TARGET"
    print(f"verify {args.entries:,} entries: best {best:.2f} s, median {median:.2f} s "
          f"({args.entries / best:,.0f} entries/s); target < {TARGET_S:.0f} s: {verdict}")
    return 0 if best < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
