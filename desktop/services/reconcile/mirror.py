"""Reconciliation reads a local mirror of the ledger, kept current by the change feed (issue 14, item 3).

Every reconciliation used to read its period from the ledger (:meth:`LedgerPlatform.documents_dated`,
paged to exhaustion): metered reads — QuickBooks bills them, Xero counts each call against a daily
limit — spent every 15 minutes on documents that had not changed. :class:`MirroredLedger` is the
same :class:`~desktop.services.reconcile.engine.LedgerSource` over the tables of
:mod:`desktop.services.store.models.mirror`:

- **first read** of a period: the change feed is asked from a few minutes ago (its answer's time is
  the mark, in the ledger's clock), then the period is read in full — a period reaching today to
  :data:`HORIZON` past its end, so the days after it (tomorrow's period) are covered too — and
  every document is kept;
- **after that**: only the change feed from the saved mark (QuickBooks CDC: one read for all our
  entity types; Xero ``If-Modified-Since``: one call per list). Each changed document replaces its
  copy unless the copy is newer; a removal notice takes the document out of every period;
- **read in full again** when the mark is older than the feed keeps (QuickBooks: 30 days), when the
  feed could not hand over everything (more changes in one instant than an answer holds), when the
  ledger refuses the feed, or for a period not read in full since the mark: then what was covered
  is forgotten and only the period asked for is covered anew.

The mirror never hides a deletion: a posted document of ours the period's documents lack — deleted,
or one the mirror does not have — is read by id (:meth:`by_id`, live, as before). A document the
ledger answers without an id cannot be kept, and is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.core.clock import Clock
from desktop.services.core.errors import NeedsPersonError
from desktop.services.platforms.interface import ChangeFeed, DocView, LedgerPlatform, RemoteDoc
from desktop.services.reconcile.ledger_read import LedgerReader, ledger_doc
from desktop.services.reconcile.model import Period
from desktop.services.store.db import Database, transaction_lock
from desktop.services.store.models import LedgerMirrorDoc, LedgerMirrorState

__all__ = ["FILL_OVERLAP", "HORIZON", "MirrorRefresh", "MirroredLedger"]

#: A full read reaches this far past the period's end, so the next days' periods are covered.
HORIZON = timedelta(days=366)
#: A first feed starts this long before now (the computer's clock may run ahead of the ledger's).
FILL_OVERLAP = timedelta(minutes=5)
#: A period ending this close to today (in UTC; organizations keep their own dates) is read ahead.
_SLACK = timedelta(days=2)
_CHUNK = 500
_LOCK_BASE = 0x524C535F4D49 << 16  # "RLS_MI" + the connection id: pg_advisory_xact_lock keys


@dataclass
class MirrorRefresh:
    """What bringing the mirror up to date took: feed documents applied, whether the period was read
    in full and why (``first`` | ``window`` | ``incomplete`` | ``refused`` | ``uncovered``)."""

    changed: int = 0
    full_read: bool = False
    reason: str | None = None
    documents: int = 0


def _ranges(covered: Any) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for item in covered if isinstance(covered, list) else []:
        try:
            out.append((date.fromisoformat(item[0]), date.fromisoformat(item[1])))
        except (TypeError, ValueError, IndexError):
            continue
    return sorted(out)


def _merge(ranges: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _covers(ranges: Sequence[tuple[date, date]], period: Period) -> bool:
    return any(start <= period.start and period.end <= end for start, end in _merge(ranges))


class MirroredLedger:
    """A connection's ledger as reconciliation reads it, through the mirror (see the module docstring).

    Args:
        db: the app's database (the mirror's tables).
        clock: the injected clock.
        connection_id: whose ledger.
        ledger: the connected platform (the change feed, full reads, reads by id).
    """

    def __init__(self, db: Database, clock: Clock, connection_id: int, ledger: LedgerPlatform) -> None:
        self._db = db
        self._clock = clock
        self._conn = connection_id
        self._ledger = ledger
        self._reader = LedgerReader(ledger)
        self.platform = ledger.profile.key
        self.last = MirrorRefresh()

    # --- the LedgerSource --------------------------------------------------------------------
    def period(self, period: Period) -> list[DocView]:
        """Every document of the kinds we post dated in ``period``, as the ledger holds them now."""
        self.last = self.refresh(period)
        profile = self._ledger.profile
        m = LedgerMirrorDoc
        with self._db.session() as s:
            rows = s.execute(sa.select(m.doc_type, m.remote_id, m.raw).where(
                m.connection_id == self._conn, m.txn_date >= period.start, m.txn_date <= period.end)
                .order_by(m.doc_type, m.id)).all()
        self.last.documents = len(rows)
        return [ledger_doc(profile, RemoteDoc(r.doc_type, r.remote_id, None, None, r.raw)) for r in rows]

    def by_id(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DocView | None]:
        """Read live, one by one (what the period's documents lack may be gone)."""
        return self._reader.by_id(wanted)

    # --- keeping it current ------------------------------------------------------------------
    def refresh(self, period: Period) -> MirrorRefresh:
        """Bring the mirror up to date for ``period``: the change feed, or a full read (module docstring)."""
        out = MirrorRefresh()
        now = self._clock.now()
        profile = self._ledger.profile
        cursor, covered = self._state()
        feed: ChangeFeed | None = None
        if cursor:
            since, gap = profile.feed_start(cursor, now - FILL_OVERLAP, now)
            if gap:
                out.reason = "window"
            else:
                feed = self._feed(since)
                out.reason = "refused" if feed is None else None if feed.complete else "incomplete"
        else:
            out.reason = "first"
        if out.reason is not None:
            covered = []
            if feed is None:  # start a new mark before the full read, so nothing between is missed
                feed = self._feed(profile.feed_start(None, now - FILL_OVERLAP, now)[0])
        if feed is not None:
            out.changed = len(feed.records)
            self._apply(feed.records)
        if not _covers(covered, period):
            out.full_read, out.reason = True, out.reason or "uncovered"
            started = self._clock.now()
            # A period reaching today grows tomorrow: read ahead so it stays covered. A past one does not.
            end = period.end + HORIZON if period.end >= started.date() - _SLACK else period.end
            self._replace(self._ledger.documents_dated(period.start, end), period.start, end, started)
            covered = _merge([*covered, (period.start, end)])
        self._save(feed.cursor if feed is not None and feed.cursor else None, covered, out.full_read)
        return out

    def _feed(self, since: Any) -> ChangeFeed | None:
        """The change feed from ``since``; None when the ledger refuses it (e.g. a mark it no longer
        keeps): the caller reads in full instead. Throttling and lost connections propagate."""
        try:
            return self._ledger.changes_since(since, self._clock.now)
        except NeedsPersonError:
            return None

    def _state(self) -> tuple[str | None, list[tuple[date, date]]]:
        with self._db.session() as s:
            row = s.get(LedgerMirrorState, self._conn)
            return (row.cursor, _ranges(row.covered)) if row is not None else (None, [])

    def _save(self, cursor: str | None, covered: list[tuple[date, date]], full: bool) -> None:
        now = self._clock.now()
        spans = [[a.isoformat(), b.isoformat()] for a, b in covered] if cursor else []
        with self._db.write_session() as s:
            self._lock(s)
            row = s.get(LedgerMirrorState, self._conn)
            if row is None:
                s.add(LedgerMirrorState(connection_id=self._conn, cursor=cursor, covered=spans,
                                        full_reads=int(full), updated_at=now))
                return
            row.cursor, row.covered, row.updated_at = cursor or None, spans, now
            row.full_reads = (row.full_reads or 0) + int(full)

    def _lock(self, s: Session) -> None:
        """One writer of a connection's mirror at a time (a PostgreSQL advisory lock per connection —
        no row to lock exists before the first read; SQLite has one writer anyway)."""
        transaction_lock(s, _LOCK_BASE + self._conn)

    def _existing(self, s: Session, docs: Sequence[RemoteDoc]) -> dict[tuple[str, str], Any]:
        m = LedgerMirrorDoc
        ids = sorted({d.remote_id for d in docs})
        out: dict[tuple[str, str], Any] = {}
        for i in range(0, len(ids), _CHUNK):
            for r in s.execute(sa.select(m.id, m.doc_type, m.remote_id, m.remote_updated_at).where(
                    m.connection_id == self._conn, m.remote_id.in_(ids[i:i + _CHUNK]))):
                out[(r.doc_type, r.remote_id)] = r
        return out

    def _apply(self, docs: Sequence[RemoteDoc]) -> None:
        """Keep each document's newest copy (a copy newer than the one given stays)."""
        docs = [d for d in docs if d.remote_id]
        if not docs:
            return
        profile = self._ledger.profile
        now = self._clock.now()
        latest: dict[tuple[str, str], tuple[RemoteDoc, DocView]] = {}
        for d in docs:  # the feed may answer a document twice (asked again from a second): the later wins
            latest[(d.doc_type, d.remote_id)] = (d, profile.view(d.doc_type, d.raw))
        with self._db.write_session() as s:
            self._lock(s)
            have = self._existing(s, [d for d, _ in latest.values()])
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for key, (d, view) in latest.items():
                values = {"txn_date": view.txn_date, "raw": d.raw, "remote_updated_at": view.updated_at,
                          "deleted": view.status == "deleted", "seen_at": now}
                old = have.get(key)
                if old is None:
                    inserts.append({"connection_id": self._conn, "doc_type": d.doc_type, "remote_id": d.remote_id,
                                    **values})
                elif not (old.remote_updated_at and view.updated_at and view.updated_at < old.remote_updated_at):
                    updates.append({"id": old.id, **values})
            if inserts:
                s.execute(sa.insert(LedgerMirrorDoc), inserts)
            if updates:
                s.execute(sa.update(LedgerMirrorDoc), updates)

    def _replace(self, docs: Sequence[RemoteDoc], start: date, end: date, started: datetime) -> None:
        """A full read of ``start..end``: keep what it answered; forget the copies dated in the range it
        no longer lists (deleted, or moved out of it) unless the feed brought them since it began."""
        self._apply(docs)
        answered = {(d.doc_type, d.remote_id) for d in docs}
        m = LedgerMirrorDoc
        with self._db.write_session() as s:
            self._lock(s)
            stale = [r.id for r in s.execute(sa.select(m.id, m.doc_type, m.remote_id).where(
                m.connection_id == self._conn, m.txn_date >= start, m.txn_date <= end, m.seen_at <= started))
                if (r.doc_type, r.remote_id) not in answered]
            for i in range(0, len(stale), _CHUNK):
                s.execute(sa.delete(m).where(m.id.in_(stale[i:i + _CHUNK])))
