"""Audit entries written as a batch (``audit.append_many_at``, ``outbox.audit_batch``) are exactly the
chain one-by-one appends make: contiguous, in the order they were made, every seal intact — and a
batch whose block fails writes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.pipeline import outbox
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog
from tests.helpers.db import migrated

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    with migrated(db_url) as database:
        yield database


def _trail(db: Database) -> list[tuple[int, str, str | None]]:
    with db.session() as s:
        return [(int(seq), str(action), target) for seq, action, target in s.execute(
            sa.select(AuditLog.seq, AuditLog.action, AuditLog.target).order_by(AuditLog.seq))]


def _intact(db: Database) -> audit.ChainReport:
    with db.session() as s:
        return audit.verify_chain(s)


def test_many_at_once_is_the_chain_one_by_one_appends_make(db: Database) -> None:
    with db.write_session() as s:
        audit.append_at(s, T0, actor="alice", action="user.added", target="one")
    entries = [audit.AuditEntry(T0 + timedelta(seconds=i), "system", "document.posted", f"doc-{i}", None,
                                f"RMA-{i}", {"n": i, "total": "12.50", "note": "café ✓"}) for i in range(5)]
    with db.write_session() as s:
        assert audit.append_many_at(s, entries) == [2, 3, 4, 5, 6]
        assert audit.append_at(s, T0 + timedelta(minutes=1), actor="ben", action="fx.set", target="after") == 7
    assert _trail(db) == [
        (1, "user.added", "one"), *[(2 + i, "document.posted", f"doc-{i}") for i in range(5)], (7, "fx.set", "after")]
    report = _intact(db)
    assert report.intact and report.entries == 7, report


def test_a_batch_holds_its_entries_to_the_end_in_order(db: Database) -> None:
    with db.write_session() as s:
        with outbox.audit_batch(s):
            for i in range(3):
                outbox._audit(s, "document.posted", now=T0, actor=outbox.SYNC_ACTOR, organization_id=None,
                              return_id=None, target=f"doc-{i}", details={"n": i})
            assert s.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == 0  # held back
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == 3
    assert [t for _seq, _a, t in _trail(db)] == ["doc-0", "doc-1", "doc-2"]
    assert _intact(db).intact


def test_a_failed_batch_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write_session() as s, outbox.audit_batch(s):
        outbox._audit(s, "document.posted", now=T0, actor=outbox.SYNC_ACTOR, organization_id=None,
                      return_id=None, target="lost", details={})
        raise RuntimeError("the block failed")
    assert _trail(db) == []
    with db.write_session() as s, outbox.audit_batch(s):  # the session holds nothing over from the failed one
        outbox._audit(s, "document.posted", now=T0, actor=outbox.SYNC_ACTOR, organization_id=None,
                      return_id=None, target="kept", details={})
    assert _trail(db) == [(1, "document.posted", "kept")]
    assert _intact(db).intact
