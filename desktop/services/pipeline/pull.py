"""Ledger → local: find what accountants did to the documents we posted (DESIGN.md §3, §7).

The pull direction reads each organization's ledger for changes since a saved cursor —
QBO Change Data Capture (``GET /cdc``, 30-day look-back, the response ``time`` is the next
high-water mark) and Xero ``If-Modified-Since`` on CreditNotes, ManualJournals and Payments (paged;
the first answer's ``DateTimeUTC`` is the next mark) — and classifies every change to a document
*we* posted (matched by remote id, or by the idempotency key we wrote into PrivateNote / Reference /
Narration):

- **deleted** / **voided** in the ledger;
- **refund paid**: a Payment (or QBO RefundReceipt) someone else entered against our credit
  memo / credit note;
- **edited**: total, tax, date or line amounts differ from what we posted. A bare SyncToken bump
  (QBO moving RemainingCredit when a payment applies the memo) is not an edit.

For each change the outbox row's remote state is updated (SyncToken, ``remote_state``,
``remote_updated_at``), events are published and the RMS is told (``accounting-status``, keyed so a
retry is harmless). Detection is idempotent: a document whose SyncToken / UpdatedDateUTC we have
already seen is skipped, so overlapping windows (Xero's If-Modified-Since is inclusive, to the
second) never report a change twice. The cursor advances only when every write-back went
through; otherwise the next pull sees the same changes again and retries them with the same keys.

A change to a document whose return has a newer revision waiting to post is a *conflict*: the
accountant and the RMS disagree, and a person must decide — a WARNING event says so. Documents
that carry our key but were never recorded as posted are counted and left to reconciliation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.connections.service import ConnectionService
from desktop.services.core.clock import Clock
from desktop.services.core.errors import AppError, NeedsPersonError
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.core.money import Money
from desktop.services.pipeline import outbox
from desktop.services.pipeline.writeback import ChangeOutcome, ChangeWriteBack, WriteBackService
from desktop.services.platforms.interface import DocView, LedgerPlatform, PlatformProfile
from desktop.services.platforms.interface import text as _text
from desktop.services.platforms.registry import platform_for
from desktop.services.rms.client import RmsClient
from desktop.services.store.connection_choice import connected_org
from desktop.services.store.db import Database
from desktop.services.store.models import (
    OutboxDocument,
    OutboxStatus,
    Platform,
    Return,
    ReturnSyncStatus,
    SyncCursor,
    SyncRun,
    SyncRunStatus,
)

__all__ = ["CURSOR_SOURCE", "Change", "ChangeKind", "PullResult", "PullService", "RemoteDoc"]

log = logging.getLogger(__name__)

#: ``sync_cursors.source`` of the ledger change feed.
CURSOR_SOURCE = "ledger"
#: How far back a first pull looks (the longest look-back a change feed keeps: QBO's CDC).
CDC_WINDOW = timedelta(days=30)
CDC_MARGIN = timedelta(minutes=5)  # stay safely inside QBO's 30-day look-back
#: Statuses of a newer revision's documents that mean "still to post" (a conflict with a ledger edit).
_PENDING = (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.FAILED, OutboxStatus.UNCERTAIN)

RmsClientFor = Callable[[str], RmsClient | None]


class ChangeKind(StrEnum):
    """What happened to one of our documents; the value is the RMS write-back status."""

    EDITED = "edited"
    VOIDED = "voided"
    DELETED = "deleted"
    REFUND_PAID = "refund_paid"

    @property
    def remote_state(self) -> str:
        """The word kept in ``outbox_documents.remote_state``."""
        return "refunded" if self is ChangeKind.REFUND_PAID else self.value


_EVENT = {ChangeKind.EDITED: EventKind.DOCUMENT_EDITED_IN_LEDGER,
          ChangeKind.VOIDED: EventKind.DOCUMENT_VOIDED_IN_LEDGER,
          ChangeKind.DELETED: EventKind.DOCUMENT_DELETED_IN_LEDGER,
          ChangeKind.REFUND_PAID: EventKind.REFUND_PAID_IN_LEDGER}
_VERB = {ChangeKind.EDITED: "edited", ChangeKind.VOIDED: "voided", ChangeKind.DELETED: "deleted",
         ChangeKind.REFUND_PAID: "refunded (paid out)"}


RemoteDoc = DocView
"""One ledger document as pull compares it (the platforms' shared view)."""


@dataclass(frozen=True)
class Change:
    """One change to a document we posted."""

    kind: ChangeKind
    org: str
    platform: str
    doc_type: str
    remote_id: str
    idempotency_key: str
    outbox_id: int
    rms_id: str | None
    revision: int | None
    rma: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    conflict: bool = False
    written_back: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "org": self.org, "platform": self.platform, "doc_type": self.doc_type,
                "remote_id": self.remote_id, "idempotency_key": self.idempotency_key, "rms_id": self.rms_id,
                "revision": self.revision, "rma": self.rma, "before": self.before, "after": self.after,
                "conflict": self.conflict, "written_back": self.written_back}


@dataclass
class PullResult:
    """What one pull found for one organization."""

    org: str
    changes: list[Change] = field(default_factory=list)
    scanned: int = 0          # ledger documents the feed returned
    unmatched: int = 0        # carry our key, but we never recorded posting them (→ reconciliation)
    writeback_failed: int = 0
    cursor: str | None = None
    cursor_advanced: bool = False
    #: Why the change feed did not hand over every change since the cursor (capped, or a window
    #: older than the feed keeps), in words; None: it did.
    incomplete: str | None = None

    def counts(self) -> dict[str, int]:
        by_kind = {k.value: sum(1 for c in self.changes if c.kind is k) for k in ChangeKind}
        return {"changes": len(self.changes), "scanned": self.scanned, "unmatched": self.unmatched,
                "conflicts": sum(1 for c in self.changes if c.conflict),
                "writeback_failed": self.writeback_failed, "feed_incomplete": int(self.incomplete is not None),
                **by_kind}


# --- what we posted ----------------------------------------------------------------------------

def posted_doc(row: OutboxDocument) -> RemoteDoc:
    """The values we sent, from the outbox row (total and date) and its payload (tax and lines)."""
    payload = row.payload or {}
    total = Money.from_minor_units(row.total_minor, row.currency).amount \
        if row.total_minor is not None and row.currency else None
    sent = platform_for(row.platform).sent_view(row.doc_type, payload, row.remote_id or "")
    return RemoteDoc(row.doc_type, row.remote_id or "", "active", total=total, tax=sent.tax, txn_date=row.txn_date,
                     currency=row.currency, lines=sent.lines, sync_token=row.sync_token)


def edited_fields(posted: RemoteDoc, now: RemoteDoc) -> list[str]:
    """Which of total / tax / date / lines differ; a value we cannot compare is not a difference."""
    out: list[str] = []
    if posted.total is not None and now.total is not None and posted.total != now.total:
        out.append("total")
    if posted.tax is not None and now.tax is not None and posted.tax != now.tax:
        out.append("tax")
    if posted.txn_date is not None and now.txn_date is not None and posted.txn_date != now.txn_date:
        out.append("date")
    if posted.lines is not None and now.lines is not None and posted.lines != now.lines:
        out.append("lines")
    return out


# --- the service ---------------------------------------------------------------------------------

@dataclass
class _Found:
    change: Change | None  # None: a bare SyncToken/UpdatedDateUTC bump, recorded but never reported
    row_id: int
    marker: str
    doc: RemoteDoc


class PullService:
    """Pull ledger changes for one organization at a time (see the module docstring).

    Args:
        db: the app's database.
        bus: where change, conflict and write-back events go.
        clock: the injected clock (cursor windows, timestamps).
        connections: gives the organization's ledger connector.
        rms_client_for: the RMS client of an organization, or ``None`` if no RMS is configured
            (then changes are recorded locally and not written back).
    """

    def __init__(self, db: Database, bus: EventBus, clock: Clock, connections: ConnectionService,
                 rms_client_for: RmsClientFor) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._connections = connections
        self._rms_client_for = rms_client_for

    # --- entry ---------------------------------------------------------------------------------
    def pull(self, org_code: str) -> PullResult:
        """Read the ledger's changes since the cursor, record and report them, advance the cursor."""
        started = self._clock.now()
        org_id, conn_id, platform, company_id = self._connection(org_code)
        run_id = self._start_run(org_id, started)
        result = PullResult(org_code)
        try:
            cursor = self._cursor(org_id)
            ledger = self._connections.connector(conn_id)
            docs, next_cursor = self._read(ledger, org_code, org_id, cursor, result)
            result.scanned = len(docs)
            found = self._classify(org_code, org_id, conn_id, platform, docs, result)
            self._settle(org_code, platform, company_id, found, result)
            if result.writeback_failed == 0:
                self._save_cursor(org_id, next_cursor)
                result.cursor, result.cursor_advanced = next_cursor, True
            else:
                result.cursor = cursor
        except AppError as exc:
            self._finish_run(run_id, SyncRunStatus.FAILED, result, exc)
            raise
        partial = result.writeback_failed or result.incomplete
        self._finish_run(run_id, SyncRunStatus.PARTIAL if partial else SyncRunStatus.SUCCEEDED, result, None)
        self._bus.emit(EventKind.CHANGE_PULLED, Severity.WARNING if result.incomplete else Severity.INFO,
                       f"Ledger pull for {org_code}: {len(result.changes)} change(s) to our documents "
                       f"in {result.scanned} read" + (f"; {result.unmatched} of ours not on record"
                                                      if result.unmatched else "")
                       + (f"; incomplete: {result.incomplete}" if result.incomplete else ""),
                       org=org_code, platform=platform.value,
                       details={**result.counts(), "incomplete": result.incomplete})
        return result

    # --- set-up --------------------------------------------------------------------------------
    def _connection(self, org_code: str) -> tuple[int, int, Platform, str]:
        with self._db.session() as s:
            org, conn = connected_org(s, org_code)
            if conn is None:
                raise NeedsPersonError(f"{org_code} has no working ledger connection",
                                       action="connect (or reconnect) it on the Connections page")
            return org.id, conn.id, conn.platform, conn.remote_id

    def _cursor(self, org_id: int) -> str | None:
        with self._db.session() as s:
            return s.execute(sa.select(SyncCursor.cursor_value).where(
                SyncCursor.organization_id == org_id, SyncCursor.source == CURSOR_SOURCE)).scalar()

    def _save_cursor(self, org_id: int, value: str | None) -> None:
        if not value:
            return
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.execute(sa.select(SyncCursor).where(SyncCursor.organization_id == org_id,
                                                        SyncCursor.source == CURSOR_SOURCE)).scalar()
            if row is None:
                s.add(SyncCursor(organization_id=org_id, source=CURSOR_SOURCE, cursor_value=value, updated_at=now))
            else:
                row.cursor_value, row.updated_at = value, now

    def _start_run(self, org_id: int, now: datetime) -> int:
        with self._db.write_session() as s:
            run = SyncRun(organization_id=org_id, kind="ledger_pull", trigger=None, started_at=now,
                          status=SyncRunStatus.RUNNING, counts={})
            s.add(run)
            s.flush()
            return run.id

    def _finish_run(self, run_id: int, status: SyncRunStatus, result: PullResult, exc: AppError | None) -> None:
        with self._db.write_session() as s:
            run = s.get(SyncRun, run_id)
            if run is not None:
                counts: dict[str, Any] = dict(result.counts())
                if result.incomplete:
                    counts["incomplete"] = result.incomplete  # the dashboard's words
                run.status, run.finished_at, run.counts = status, self._clock.now(), counts
                run.error = exc.as_dict() if exc is not None else None

    def _window_start(self, org_id: int) -> datetime:
        """Where a first pull starts: the earliest posting we know of, within QBO's look-back."""
        now = self._clock.now()
        with self._db.session() as s:
            first = s.execute(sa.select(sa.func.min(OutboxDocument.posted_at)).where(
                OutboxDocument.organization_id == org_id)).scalar()
        floor = now - CDC_WINDOW + CDC_MARGIN
        return max(floor, first - timedelta(minutes=1)) if first is not None else floor

    # --- reading the ledgers -------------------------------------------------------------------
    def _read(self, ledger: LedgerPlatform, org_code: str, org_id: int, cursor: str | None, result: PullResult
              ) -> tuple[list[RemoteDoc], str | None]:
        """The ledger's change feed from the saved cursor (a first pull: from :meth:`_window_start`).

        A feed that cannot hand over every change says so — never silently: a window older than the
        feed keeps (``sync.pull_gap``), or more changes at one instant than one answer holds
        (``change.feed_incomplete``). Either way ``result.incomplete`` carries the words and the
        run ends "finished with problems"; reconciliation reads in full what the feed left out.
        """
        now = self._clock.now()
        profile: PlatformProfile = ledger.profile
        since, gap = profile.feed_start(cursor, self._window_start(org_id), now)
        if gap:
            result.incomplete = (f"the last ledger pull was over 30 days ago; {profile.short_name} keeps changes "
                                 "for 30 days only, so older edits are left to reconciliation")
            self._bus.emit("sync.pull_gap", Severity.WARNING, f"{org_code}: {result.incomplete}", org=org_code,
                           platform=profile.key, details={"cursor": cursor})
        feed = ledger.changes_since(since, self._clock.now)
        if not feed.complete:
            capped = (f"the {profile.short_name} change feed could not hand over every change since the last pull "
                      "(more changes at one moment than one answer holds); the ones it left out are left to "
                      "reconciliation, which reads the period in full")
            result.incomplete = f"{result.incomplete}; {capped}" if result.incomplete else capped
            self._bus.emit(EventKind.CHANGE_FEED_INCOMPLETE, Severity.WARNING, f"{org_code}: {capped}",
                           org=org_code, platform=profile.key, details={"cursor": cursor, "since": str(since)})
        return feed.docs, feed.cursor

    # --- classifying ---------------------------------------------------------------------------
    def _classify(self, org_code: str, org_id: int, conn_id: int, platform: Platform, docs: list[RemoteDoc],
                  result: PullResult) -> list[_Found]:
        if not docs:
            return []
        found: list[_Found] = []
        with self._db.session() as s:
            rows = self._our_rows(s, org_id, conn_id, docs)
            by_remote = {(r.doc_type, r.remote_id): r for r in rows if r.remote_id}
            by_key = {r.idempotency_key: r for r in rows}
            ours_ids = {r.remote_id for r in rows if r.remote_id}
            seen: set[tuple[int, ChangeKind]] = set()
            for doc in docs:
                row = by_remote.get((doc.doc_type, doc.remote_id))
                if row is None and doc.our_key:
                    keyed = by_key.get(doc.our_key)
                    if keyed is None or keyed.status is not OutboxStatus.POSTED or (
                            keyed.remote_id and keyed.remote_id != doc.remote_id):
                        result.unmatched += 1  # ours by its key, but not the document we recorded
                        continue
                    row = keyed
                if row is None:
                    # Someone else's payment or refund against a document of ours?
                    for target in doc.pays:
                        paid = by_remote.get(target)
                        if paid is not None and doc.status == "active" and paid.remote_state != "refunded":
                            self._add(found, seen, s, org_code, platform, paid, ChangeKind.REFUND_PAID,
                                      doc, f"{doc.doc_type}:{doc.remote_id}", {"paid_by": {
                                          "type": doc.doc_type, "id": doc.remote_id,
                                          "amount": _text(doc.total)}})
                    continue
                kind, marker, extra = self._what_changed(row, doc, ours_ids)
                if kind is None:
                    if doc.sync_token != row.sync_token or doc.updated_at != row.remote_updated_at:
                        found.append(_Found(None, row.id, marker, doc))  # remember the new token
                    continue
                self._add(found, seen, s, org_code, platform, row, kind, doc, marker, extra)
        return found

    @staticmethod
    def _our_rows(s: Session, org_id: int, conn_id: int, docs: list[RemoteDoc]) -> list[OutboxDocument]:
        ids = {d.remote_id for d in docs} | {t[1] for d in docs for t in d.pays}
        keys = {d.our_key for d in docs if d.our_key}
        rows: dict[int, OutboxDocument] = {}
        id_list, key_list = sorted(ids), sorted(keys)
        for i in range(0, len(id_list), 500):
            for r in s.execute(sa.select(OutboxDocument).where(
                    OutboxDocument.organization_id == org_id, OutboxDocument.connection_id == conn_id,
                    OutboxDocument.remote_id.in_(id_list[i:i + 500]))).scalars():
                rows[r.id] = r
        for i in range(0, len(key_list), 500):
            for r in s.execute(sa.select(OutboxDocument).where(
                    OutboxDocument.organization_id == org_id,
                    OutboxDocument.idempotency_key.in_(key_list[i:i + 500]))).scalars():
                rows[r.id] = r
        return list(rows.values())

    @staticmethod
    def _what_changed(row: OutboxDocument, doc: RemoteDoc, ours_ids: set[str]
                      ) -> tuple[ChangeKind | None, str, dict[str, Any]]:
        marker = doc.sync_token or (doc.updated_at.isoformat() if doc.updated_at else doc.status)
        # Terminal states first: QBO's deleted stub has no SyncToken and a to-the-second time.
        if doc.status == "deleted":
            return (None if row.remote_state == "deleted" else ChangeKind.DELETED), "deleted", {}
        if doc.status == "voided":
            return (None if row.remote_state == "voided" else ChangeKind.VOIDED), "voided", {}
        if doc.sync_token is not None and doc.sync_token == row.sync_token:
            return None, marker, {}
        if doc.sync_token is None and doc.updated_at is not None and row.remote_updated_at is not None \
                and doc.updated_at <= row.remote_updated_at:
            return None, marker, {}  # Xero: seen already (If-Modified-Since is inclusive)
        others = [p for p in doc.payment_ids if p not in ours_ids]
        if others and row.remote_state != "refunded":
            return ChangeKind.REFUND_PAID, "paid:" + ",".join(sorted(others)), {"paid_by": others}
        fields = edited_fields(posted_doc(row), doc)
        if fields:
            return ChangeKind.EDITED, marker, {"fields": fields}
        return None, marker, {}

    def _add(self, found: list[_Found], seen: set[tuple[int, ChangeKind]], s: Session, org_code: str,
             platform: Platform, row: OutboxDocument, kind: ChangeKind, doc: RemoteDoc, marker: str,
             extra: dict[str, Any]) -> None:
        if (row.id, kind) in seen:
            return
        seen.add((row.id, kind))
        ret = s.get(Return, row.return_id) if row.return_id is not None else None
        before = posted_doc(row).values()
        after = {**doc.values(), **extra}
        change = Change(kind, org_code, platform.value, row.doc_type, row.remote_id or doc.remote_id,
                        row.idempotency_key, row.id, ret.rms_id if ret else None, ret.revision if ret else None,
                        ret.rma_number if ret else None, before, after,
                        conflict=bool(ret and _newer_revision_pending(s, ret)))
        # A refund seen through the paying document says nothing about our row's own token/time.
        same = (doc.doc_type, doc.remote_id) == (row.doc_type, row.remote_id)  # QBO ids repeat across types
        own = doc if same else RemoteDoc(row.doc_type, row.remote_id or "", "paid")
        found.append(_Found(change, row.id, marker, own))

    # --- recording, events, write-back ---------------------------------------------------------
    def _settle(self, org_code: str, platform: Platform, company_id: str, found: list[_Found],
                result: PullResult) -> None:
        client = self._rms_client_for(org_code) if any(f.change and f.change.rms_id for f in found) else None
        # The one write-back stage (sync/writeback.py): its keys, its lease on the return row.
        stage = WriteBackService(self._db, self._bus, self._clock, lambda _org: client) if client else None
        quiet: list[_Found] = []  # unchanged documents (our own posts seen again): recorded together
        for item in found:
            change = item.change
            if change is None:
                quiet.append(item)
                continue
            self._record_quiet(quiet)
            written = False
            if stage is not None and client is not None and change.rms_id and change.revision:
                outcome = stage.send_change(client, self._change_writeback(change, platform, company_id, item))
                if outcome in (ChangeOutcome.FAILED, ChangeOutcome.HELD):
                    result.writeback_failed += 1
                    continue  # not recorded: the next pull sees it again and retries with the same key
                if outcome is ChangeOutcome.SETTLED_ELSEWHERE:
                    continue  # another worker wrote it back, recorded and reported it
                written = True  # recorded by the stage, with the lease released
            else:
                self._record(item, change.kind)
            change = replace(change, written_back=written)
            result.changes.append(change)
            self._publish(change)
        self._record_quiet(quiet)

    def _record_quiet(self, items: list[_Found]) -> None:
        """Record unchanged documents in order, in one transaction and one read of their rows."""
        for start in range(0, len(items), 500):
            chunk = items[start:start + 500]
            with self._db.write_session() as s:
                held = s.scalars(sa.select(OutboxDocument).where(  # held: the identity map keeps rows weakly
                    OutboxDocument.id.in_([i.row_id for i in chunk]))).all()
                for item in chunk:
                    self._record_in(s, item, None)  # s.get finds each row read above
                del held
        items.clear()

    def _record(self, item: _Found, kind: ChangeKind | None) -> None:
        with self._db.write_session() as s:
            self._record_in(s, item, kind)

    def _record_in(self, s: Session, item: _Found, kind: ChangeKind | None) -> None:
        row = s.get(OutboxDocument, item.row_id)
        if row is None:
            return
        doc = item.doc
        if doc.sync_token is not None:
            row.sync_token = doc.sync_token
        if doc.updated_at is not None and (row.remote_updated_at is None or doc.updated_at > row.remote_updated_at):
            row.remote_updated_at = doc.updated_at
        now = self._clock.now()
        if kind is not None:
            outbox.note_remote_state(row, kind.remote_state, now=now)  # audited there
        row.updated_at = now

    @staticmethod
    def _still_due(s: Session, item: _Found, kind: ChangeKind) -> bool:
        """Not yet recorded (by another worker that pulled the same change a moment ago)?"""
        row = s.get(OutboxDocument, item.row_id, populate_existing=True)
        if row is None:
            return False
        if kind is not ChangeKind.EDITED:
            return row.remote_state != kind.remote_state
        doc = item.doc
        if doc.sync_token is not None:
            return row.sync_token != doc.sync_token
        return doc.updated_at is None or row.remote_updated_at is None or doc.updated_at > row.remote_updated_at

    def _change_writeback(self, change: Change, platform: Platform, company_id: str,
                          item: _Found) -> ChangeWriteBack:
        assert change.rms_id is not None and change.revision is not None
        document: dict[str, Any] = {"type": change.doc_type, "id": change.remote_id}
        total, currency = change.after.get("total"), change.after.get("currency") or change.before.get("currency")
        if total is not None and change.kind is ChangeKind.EDITED:
            document["total"] = total
        elif change.before.get("total") is not None:
            document["total"] = change.before["total"]
        if currency:
            document["currency"] = currency
        # The ledger's own time of the change where it has one, so a repeat sends the same body.
        at = item.doc.updated_at or self._clock.now()
        update = {"revision": change.revision, "status": change.kind.value, "platform": platform.value,
                  "company_id": company_id, "documents": [document],
                  "message": _message(change), "occurred_at": at.isoformat()}
        with self._db.session() as s:
            return_id = s.scalar(sa.select(OutboxDocument.return_id).where(OutboxDocument.id == item.row_id))
        assert return_id is not None
        kind = change.kind
        return ChangeWriteBack(
            return_id, change.org, change.rms_id, change.revision, kind.value, (change.idempotency_key, item.marker),
            update, still_due=lambda s: self._still_due(s, item, kind), settle=lambda s: self._record_in(s, item, kind),
            rma=change.rma, document_key=change.idempotency_key,
            message=f"Told the RMS that {change.rma or change.rms_id} was {_VERB[kind]} in the ledger")

    def _publish(self, change: Change) -> None:
        severity = Severity.INFO if change.kind is ChangeKind.REFUND_PAID else Severity.WARNING
        self._bus.emit(_EVENT[change.kind], severity, _message(change), org=change.org, rma=change.rma,
                       document_key=change.idempotency_key, platform=change.platform, details=change.as_json())
        if change.conflict:
            self._bus.emit("document.ledger_conflict", Severity.WARNING,
                           f"{change.rma or change.idempotency_key}: the {change.doc_type} was {_VERB[change.kind]} "
                           "in the ledger while a newer revision of the return waits to post — decide which "
                           "one is right before it posts", org=change.org, rma=change.rma,
                           document_key=change.idempotency_key, platform=change.platform, details=change.as_json())


def _message(change: Change) -> str:
    what = f"{change.doc_type} {change.remote_id}" + (f" ({change.rma} r{change.revision})" if change.rma else "")
    text = f"{what} was {_VERB[change.kind]} in the ledger"
    if change.kind is ChangeKind.EDITED:
        fields = change.after.get("fields") or []
        diffs = [f"{f} {change.before.get(f if f != 'date' else 'date')} → {change.after.get(f)}"
                 for f in fields if f != "lines"]
        text += ": " + ", ".join(diffs or ["lines changed"])
    return text


def _newer_revision_pending(s: Session, ret: Return) -> bool:
    newer = sa.select(Return.id).where(Return.organization_id == ret.organization_id, Return.rms_id == ret.rms_id,
                                       Return.revision > ret.revision)
    waiting = s.execute(newer.where(Return.sync_status.in_((ReturnSyncStatus.NEW, ReturnSyncStatus.READY)))
                        .limit(1)).first()
    if waiting is not None:
        return True
    pending = s.execute(sa.select(OutboxDocument.id).where(OutboxDocument.return_id.in_(newer),
                                                           OutboxDocument.status.in_(_PENDING)).limit(1)).first()
    return pending is not None
