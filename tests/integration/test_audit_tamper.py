"""The audit trail attacked the way an intruder with the database would: raw SQL, guard triggers dropped
and put back, seals recomputed — on SQLite and PostgreSQL. Every tamper is detected and the first bad
entry is named; the checkpoint outside the database catches what the seals alone cannot (a cut-off end,
a trail rewritten without the key)."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from desktop.services.admin import audit
from desktop.services.admin.audit_checkpoint import FILE_NAME, database_label, verify_and_checkpoint
from desktop.services.core.clock import ManualClock
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog
from tests.helpers.cli import run_cli_here

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ENTRIES = 12
_APPEND_ONLY = "audit_log is append-only"


@dataclass
class Trail:
    db: Database
    clock: ManualClock
    data_dir: Path

    def verify(self, data_dir: Path | None = None) -> audit.ChainReport:
        with self.db.session() as s:
            return verify_and_checkpoint(s, data_dir or self.data_dir, database_label(self.db.url), self.clock.now())[0]

    def rows(self) -> list[Any]:
        with self.db.session() as s:
            return list(s.execute(sa.select(AuditLog.__table__).order_by(AuditLog.seq)))

    def append(self, n: int) -> None:
        with self.db.write_session() as s:
            for i in range(n):
                self.clock.advance(timedelta(seconds=1))
                audit.append(s, self.clock, actor="alice", action="mapping.changed", target=f"later-{i}")


@pytest.fixture
def trail(db_url: str, tmp_path: Path) -> Iterator[Trail]:
    upgrade(db_url)
    db = Database(db_url)
    clock = ManualClock(T0)
    world = Trail(db, clock, tmp_path / "data")
    for chunk in (range(0, 5), range(5, ENTRIES)):  # two transactions
        with db.write_session() as s:
            for i in chunk:
                clock.advance(timedelta(minutes=1))
                audit.append(s, clock, actor=("alice", "ben", "system")[i % 3], action=("user.added", "fx.set",
                             "document.posted")[i % 3], target=f"target-{i}", rma=f"RMA-{i}" if i % 3 == 2 else None,
                             details={"n": i, "amount": "12.50", "note": "café ✓"})
    first = world.verify()
    assert first.intact and first.entries == ENTRIES and first.keyed_from == 1 and first.checkpoint.startswith("first")
    yield world
    db.dispose()


# --- the intruder's tools: raw SQL with the guard triggers dropped, then put back -------------------

def _unguard(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DROP TRIGGER audit_log_no_change ON audit_log"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_truncate ON audit_log"))
    else:
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))


def _reguard(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                             "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"))
        conn.execute(sa.text("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                             "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"))
    else:
        for action in ("UPDATE", "DELETE"):
            conn.execute(sa.text(f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log "
                                 f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"))


def _sql(world: Trail, *statements: str, params: dict[str, Any] | None = None) -> None:
    with world.db.engine.begin() as conn:
        _unguard(conn)
        for statement in statements:
            conn.execute(sa.text(statement), params or {})
        _reguard(conn)


_RELINK = "UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"
_UNSEAL = "UPDATE audit_log SET prev_hash = :p, hash = :h, key_id = NULL, keyed_from = NULL WHERE seq = :s"


def _rehash(world: Trail, start: int, how: Callable[[Any, str], str], *, unseal: bool = False) -> None:
    """Recompute every link from entry ``start`` on with ``how(row, prev)`` (as an intruder would)."""
    rows = world.rows()
    prev = audit.GENESIS if start == 1 else next(r.hash for r in rows if r.seq == start - 1)
    with world.db.engine.begin() as conn:
        _unguard(conn)
        for row in rows:
            if row.seq < start:
                continue
            own = how(row, prev)
            conn.execute(sa.text(_UNSEAL if unseal else _RELINK), {"p": prev, "h": own, "s": row.seq})
            prev = own
        _reguard(conn)


def _plain(row: Any, prev: str) -> str:
    return audit.legacy_digest(prev, row.occurred_at.isoformat(), row.actor, row.action, row.target,
                               row.organization_id, row.details)


def _wrong_key(key: bytes) -> Callable[[Any, str], str]:
    def how(row: Any, prev: str) -> str:
        return audit.seal(key, row.seq, prev, row.occurred_at, row.actor, row.action, row.target,
                          row.organization_id, row.rma, row.key_id, row.keyed_from, row.details)
    return how


def _broken(report: audit.ChainReport, seq: int | None, problem: str) -> None:
    assert not report.intact, report
    assert (report.first_broken_seq, report.problem) == (seq, problem), report
    if seq is not None:
        assert f"#{seq}" in report.reason


# --- the matrix -------------------------------------------------------------------------------

def test_an_untouched_trail_verifies_and_moves_the_checkpoint(trail: Trail) -> None:
    trail.append(3)
    report = trail.verify()
    assert report.intact and report.entries == ENTRIES + 3 and report.head_seq == ENTRIES + 3
    assert report.checkpoint.startswith("matches the one of")
    saved = json.loads((trail.data_dir / FILE_NAME).read_text())["databases"][database_label(trail.db.url)]
    assert saved["head_seq"] == ENTRIES + 3 and saved["head_hash"] == report.head_hash and saved["signature"]


def test_editing_an_entrys_actor_is_named(trail: Trail) -> None:
    _sql(trail, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5")
    _broken(trail.verify(), 5, "changed")


def test_deleting_an_entry_is_named(trail: Trail) -> None:
    _sql(trail, "DELETE FROM audit_log WHERE seq = 5")
    report = trail.verify()
    _broken(report, 5, "missing")
    assert "entry #5 is missing" in report.reason


def test_a_forged_entry_at_the_end_is_named(trail: Trail) -> None:
    head = trail.rows()[-1]
    with trail.db.engine.begin() as conn:  # INSERT needs no trigger dropped: the log accepts appends
        conn.execute(sa.insert(AuditLog.__table__).values(
            seq=ENTRIES + 1, occurred_at=T0 + timedelta(hours=1), actor="mallory", action="user.role_changed",
            target="mallory", details={"role": "admin"}, prev_hash=head.hash, hash=secrets.token_hex(32),
            key_id=head.key_id))
    _broken(trail.verify(), ENTRIES + 1, "changed")


def test_a_forged_entry_in_the_middle_is_named(trail: Trail) -> None:
    before = next(r for r in trail.rows() if r.seq == 5)
    _sql(trail, "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 6", "UPDATE audit_log SET seq = seq - 999 "
         "WHERE seq > 1000")
    with trail.db.engine.begin() as conn:
        conn.execute(sa.insert(AuditLog.__table__).values(
            seq=6, occurred_at=before.occurred_at, actor="mallory", action="document.voided", target="x",
            details={}, prev_hash=before.hash, hash=secrets.token_hex(32), key_id=before.key_id))
    _broken(trail.verify(), 6, "changed")


def test_reordering_two_entries_is_named(trail: Trail) -> None:
    _sql(trail, "UPDATE audit_log SET seq = -4 WHERE seq = 4", "UPDATE audit_log SET seq = 4 WHERE seq = 5",
         "UPDATE audit_log SET seq = 5 WHERE seq = -4")
    _broken(trail.verify(), 4, "changed")


def test_cutting_off_the_end_is_caught_by_the_checkpoint(trail: Trail) -> None:
    _sql(trail, "DELETE FROM audit_log WHERE seq >= 10")
    report = trail.verify()
    _broken(report, 10, "truncated")
    assert "entries #10–#12 are missing" in report.reason
    assert trail.verify(trail.data_dir.parent / "elsewhere").intact, "the seals alone cannot see a cut-off end"


def test_cutting_off_the_end_and_appending_again_is_caught(trail: Trail) -> None:
    _sql(trail, "DELETE FROM audit_log WHERE seq >= 10")
    trail.append(5)  # the app carries on: #10… are sealed again, contiguous and valid
    _broken(trail.verify(), ENTRIES, "rewritten")


def test_recomputed_plain_sha256_links_are_named(trail: Trail) -> None:
    _sql(trail, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5")
    _rehash(trail, 5, _plain)
    _broken(trail.verify(), 5, "changed")


def test_a_trail_rewritten_as_plain_sha256_is_caught_by_the_checkpoint(trail: Trail) -> None:
    """The informed intruder strips every seal and recomputes a self-consistent legacy chain."""
    _sql(trail, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5")
    _rehash(trail, 1, _plain, unseal=True)
    report = trail.verify()
    _broken(report, 1, "rewritten")
    assert "without the key" in report.reason


def test_recomputed_with_a_wrong_key_is_named(trail: Trail) -> None:
    _sql(trail, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5")
    _rehash(trail, 5, _wrong_key(secrets.token_bytes(32)))
    _broken(trail.verify(), 5, "changed")


def test_hand_written_values_are_named_not_a_crash(trail: Trail) -> None:
    _sql(trail, "UPDATE audit_log SET details = '{\"n\": 1.5e300, \"x\": [true, null]}' WHERE seq = 4")
    _broken(trail.verify(), 4, "changed")
    if trail.db.is_sqlite:  # PostgreSQL's column types refuse these outright
        _sql(trail, "UPDATE audit_log SET occurred_at = 'yesterday' WHERE seq = 3")
        _broken(trail.verify(), 3, "changed")
        _sql(trail, "UPDATE audit_log SET details = 'not json' WHERE seq = 2")
        _broken(trail.verify(), 2, "changed")


def test_an_altered_checkpoint_file_is_reported(trail: Trail) -> None:
    path = trail.data_dir / FILE_NAME
    data = json.loads(path.read_text())
    data["databases"][database_label(trail.db.url)]["head_seq"] = 3  # make a cut-off end look normal
    path.write_text(json.dumps(data))
    _sql(trail, "DELETE FROM audit_log WHERE seq >= 4")
    report = trail.verify()
    _broken(report, None, "checkpoint")
    assert FILE_NAME in report.reason and json.loads(path.read_text()) == data, "the evidence is left as it was"


def test_a_failed_verification_leaves_the_checkpoint_as_evidence(trail: Trail) -> None:
    path = trail.data_dir / FILE_NAME
    before = path.read_text()
    _sql(trail, "DELETE FROM audit_log WHERE seq >= 10")
    _broken(trail.verify(), 10, "truncated")
    _broken(trail.verify(), 10, "truncated")  # still: the failed run did not bless the shorter trail
    assert path.read_text() == before


def test_audit_verify_command_exits_6_naming_the_first_bad_entry(trail: Trail) -> None:
    def cli() -> subprocess.CompletedProcess[str]:
        # the CLI's own main() in this process: the process boundary is not what is tested
        return run_cli_here("audit", "verify", "--json", "--db", trail.db.url, "--data-dir", str(trail.data_dir))

    ok = cli()
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["intact"] is True
    _sql(trail, "UPDATE audit_log SET details = '{\"n\": 99}' WHERE seq = 7")
    bad = cli()
    assert bad.returncode == 6, bad.stderr
    data = json.loads(bad.stdout)
    assert (data["intact"], data["first_broken_seq"], data["problem"]) == (False, 7, "changed")
    assert "Traceback" not in bad.stderr
