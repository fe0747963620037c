"""What the Returns page reads: windowed, filtered, sorted return rows and one return's detail.

The page must stay fast at 100,000+ returns, so nothing here loads "everything": :meth:`count`
answers the scroll bar, :meth:`window` one screenful (``LIMIT``/``OFFSET`` over the indexed
``(organization_id, …)`` columns, with a stable ``id`` tie-break so pages never overlap), and the
per-row document summary is one grouped query over just that window's return ids.
:meth:`detail` gathers the RMS record, the documents with their ledger ids, the open quarantine
reasons, the manual entries and the sync history (event log rows naming the RMA or a key).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.services.core.csv_safe import SafeWriter, export_rows
from desktop.services.core.money import Money
from desktop.services.core.progress import OperationProgress
from desktop.services.store.db import Database
from desktop.services.store.models import (
    EventLog,
    ManualEntry,
    Organization,
    OutboxDocument,
    OutboxStatus,
    QuarantineReason,
    Return,
    ReturnSyncStatus,
)

__all__ = ["ATTENTION", "SORT_KEYS", "AmountRange", "DocumentView", "ReturnDetail", "ReturnFilter", "ReturnRow",
           "ReturnsQuery"]

#: A status filter value: quarantined returns and returns with a failed/quarantined/uncertain document.
ATTENTION = "attention"
_TROUBLE = (OutboxStatus.FAILED, OutboxStatus.QUARANTINED, OutboxStatus.UNCERTAIN)

#: Sort key → the columns it orders by. Amounts only compare within a currency: "refund" sorts by
#: currency first, then the amount (a return without a stated refund last in its currency).
SORT_KEYS: dict[str, tuple[Any, ...]] = {
    "org": (Organization.code,), "rma": (Return.rma_number,), "revision": (Return.revision,),
    "customer": (Return.customer_name,), "channel": (Return.channel,),
    "refund": (Return.currency, Return.refund_total_minor.is_(None), Return.refund_total_minor),
    "currency": (Return.currency,), "status": (Return.sync_status,), "rms_status": (Return.rms_status,),
    "updated": (Return.rms_updated_at,),
}


@dataclass(frozen=True)
class AmountRange:
    """Refunds of one currency between ``low`` and ``high`` (inclusive; either may be open).

    The bounds are Decimal amounts *of that currency*: a range never compares across currencies,
    so it always names one, and only returns in that currency match it.
    """

    currency: str
    low: Decimal | None = None
    high: Decimal | None = None

    def bounds_minor(self) -> tuple[int | None, int | None]:
        """The bounds in the currency's minor units (exact; more decimals than it has are refused)."""
        def minor(v: Decimal | None) -> int | None:
            return None if v is None else Money(v, self.currency).to_minor_units()

        return minor(self.low), minor(self.high)


@dataclass(frozen=True)
class ReturnFilter:
    """What the grid shows: one organization (or all), a status (or :data:`ATTENTION`), a search,
    a period of the RMS's last change (``updated_from`` inclusive, ``updated_before`` exclusive,
    both timezone-aware) and a refund range in one currency."""

    org: str | None = None
    status: str | None = None
    text: str = ""
    include_superseded: bool = False
    updated_from: datetime | None = None
    updated_before: datetime | None = None
    amount: AmountRange | None = None
    ids: tuple[int, ...] | None = None  # exactly these returns (a selection), within the rest


@dataclass(frozen=True)
class ReturnRow:
    id: int
    org: str
    rma: str
    rms_id: str
    revision: int
    customer: str
    channel: str
    currency: str
    refund: Money | None
    status: str
    rms_status: str
    updated_at: datetime
    documents: int = 0
    posted: int = 0
    trouble: int = 0
    numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentView:
    key: str
    role: str
    doc_type: str
    status: str
    number: str | None
    remote_id: str | None
    total: Money | None
    txn_date: str | None
    attempts: int
    message: str | None
    awaiting_number: str | None
    remote_state: str | None
    posted_at: datetime | None


@dataclass
class ReturnDetail:
    row: ReturnRow
    customer_email: str | None
    warehouse: str | None
    refund_method: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    fees: list[dict[str, Any]] = field(default_factory=list)
    documents: list[DocumentView] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    manual: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


class ReturnsQuery:
    """Read-only queries for the Returns page (Qt-free; safe on any worker thread)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _where(self, f: ReturnFilter) -> list[Any]:
        conds: list[Any] = []
        if f.org:
            conds.append(Organization.code == f.org)
        if not f.include_superseded and f.status != ReturnSyncStatus.SUPERSEDED.value:
            conds.append(Return.sync_status != ReturnSyncStatus.SUPERSEDED)
        if f.status == ATTENTION:
            trouble = sa.exists().where(OutboxDocument.return_id == Return.id, OutboxDocument.status.in_(_TROUBLE))
            conds.append(sa.or_(Return.sync_status == ReturnSyncStatus.QUARANTINED, trouble))
        elif f.status:
            conds.append(Return.sync_status == ReturnSyncStatus(f.status))
        text = f.text.strip()
        if text:
            like = f"%{text.replace('%', '').replace('_', '')}%"
            conds.append(sa.or_(Return.rma_number.ilike(like), Return.rms_id.ilike(like),
                                Return.customer_name.ilike(like), Return.customer_email.ilike(like)))
        for bound in (f.updated_from, f.updated_before):
            if bound is not None and bound.tzinfo is None:
                raise ValueError("a date filter needs a timezone-aware time")
        if f.updated_from is not None:
            conds.append(Return.rms_updated_at >= f.updated_from)
        if f.updated_before is not None:
            conds.append(Return.rms_updated_at < f.updated_before)
        if f.amount is not None:
            low, high = f.amount.bounds_minor()
            conds.append(Return.currency == f.amount.currency)
            if low is not None:
                conds.append(Return.refund_total_minor >= low)
            if high is not None:
                conds.append(Return.refund_total_minor <= high)
        if f.ids is not None:
            conds.append(Return.id.in_(f.ids))
        return conds

    def count(self, f: ReturnFilter) -> int:
        stmt = sa.select(sa.func.count()).select_from(Return).join(Organization).where(*self._where(f))
        with self._db.session() as s:
            return int(s.scalar(stmt) or 0)

    def window(self, f: ReturnFilter, offset: int, limit: int, sort: str = "updated",
               descending: bool = True) -> list[ReturnRow]:
        """Rows ``offset`` … ``offset + limit`` in the given order (ties broken by id)."""
        cols = SORT_KEYS.get(sort, SORT_KEYS["updated"])
        if sort == "refund":  # currency always A→Z; the amount (and no-amount-last) follows the direction
            order = [Return.currency.asc(), cols[1].asc(),
                     cols[2].desc() if descending else cols[2].asc(),
                     Return.id.desc() if descending else Return.id.asc()]
        else:
            order = ([*(c.desc() for c in cols), Return.id.desc()] if descending
                     else [*(c.asc() for c in cols), Return.id.asc()])
        stmt = (sa.select(Return.id, Organization.code, Return.rma_number, Return.rms_id, Return.revision,
                          Return.customer_name, Return.channel, Return.currency, Return.refund_total_minor,
                          Return.sync_status, Return.rms_status, Return.rms_updated_at)
                .join(Organization).where(*self._where(f)).order_by(*order).offset(max(0, offset)).limit(limit))
        with self._db.session() as s:
            rows = s.execute(stmt).all()
            ids = [r[0] for r in rows]
            docs: dict[int, list[tuple[OutboxStatus, str | None]]] = {}
            if ids:
                for doc_rid, doc_status, number in s.execute(
                        sa.select(OutboxDocument.return_id, OutboxDocument.status, OutboxDocument.remote_number)
                        .where(OutboxDocument.return_id.in_(ids)).order_by(OutboxDocument.id)):
                    if doc_rid is not None:
                        docs.setdefault(doc_rid, []).append((doc_status, number))
        out: list[ReturnRow] = []
        for rid, org, rma, rms_id, rev, cust, chan, cur, minor, status, rms_status, updated in rows:
            mine = docs.get(rid, [])
            out.append(ReturnRow(
                rid, org, rma, rms_id, rev, cust or "", chan or "", cur,
                Money.from_minor_units(minor, cur) if minor is not None and len(cur) == 3 and cur != "XXX" else None,
                status.value, rms_status, updated, len(mine), sum(1 for st, _ in mine if st is OutboxStatus.POSTED),
                sum(1 for st, _ in mine if st in _TROUBLE), tuple(n for _, n in mine if n)))
        return out

    def iter_all(self, f: ReturnFilter, sort: str = "updated", descending: bool = True,
                 chunk: int = 2000) -> Iterator[ReturnRow]:
        offset = 0
        while True:
            rows = self.window(f, offset, chunk, sort, descending)
            yield from rows
            if len(rows) < chunk:
                return
            offset += chunk

    def export_csv(self, f: ReturnFilter, sort: str = "updated", descending: bool = True) -> tuple[str, int]:
        """Every row the filter shows, as CSV text (amounts exact, as decimal strings)."""
        buf = io.StringIO()
        w = SafeWriter(buf)  # RMS text (customer names) comes from strangers: formulas defused
        w.writerow(EXPORT_HEADER)
        n = 0
        for r in self.iter_all(f, sort, descending):
            w.writerow(_export_row(r))
            n += 1
        return buf.getvalue(), n

    def export_to(self, path: Path, f: ReturnFilter, sort: str = "updated", descending: bool = True,
                  progress: OperationProgress | None = None) -> int:
        """:meth:`export_csv` straight to ``path``, with progress (rows of the count) and a cancel that
        leaves no file (:func:`~desktop.services.core.csv_safe.export_rows`). Returns the rows written."""
        total = self.count(f) if progress is not None else None
        return export_rows(path, EXPORT_HEADER, (_export_row(r) for r in self.iter_all(f, sort, descending)),
                           total=total, progress=progress, what="returns export")

    def currencies(self) -> list[str]:
        """The currencies returns are held in (for the amount filter's currency chooser)."""
        with self._db.session() as s:
            return [c for c in s.scalars(sa.select(Return.currency).distinct().order_by(Return.currency))
                    if c and c != "XXX"]

    def organizations(self) -> list[str]:
        with self._db.session() as s:
            return list(s.scalars(sa.select(Organization.code).order_by(Organization.code)))

    def org_platforms(self) -> list[tuple[str, str]]:
        """(code, platform) of every active organization, for pickers that name the ledger."""
        with self._db.session() as s:
            return [(code, platform.value) for code, platform in s.execute(
                sa.select(Organization.code, Organization.platform).where(Organization.is_active)
                .order_by(Organization.code))]

    def detail(self, return_id: int, *, history_limit: int = 200) -> ReturnDetail | None:
        with self._db.session() as s:
            ret = s.scalar(sa.select(Return).where(Return.id == return_id).options(
                selectinload(Return.lines), selectinload(Return.fees)))
            if ret is None:
                return None
            org = s.scalar(sa.select(Organization.code).where(Organization.id == ret.organization_id)) or ""
            rows = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.return_id == return_id)
                                  .order_by(OutboxDocument.id)))
            docs = [_document(r) for r in rows]
            keys = [d.key for d in docs]
            money = (Money.from_minor_units(ret.refund_total_minor, ret.currency)
                     if ret.refund_total_minor is not None and ret.currency != "XXX" else None)
            row = ReturnRow(ret.id, org, ret.rma_number, ret.rms_id, ret.revision, ret.customer_name or "",
                            ret.channel or "", ret.currency, money, ret.sync_status.value, ret.rms_status,
                            ret.rms_updated_at, len(docs), sum(1 for d in docs if d.status == "posted"),
                            sum(1 for d in docs if d.status in {t.value for t in _TROUBLE}),
                            tuple(d.number for d in docs if d.number))
            detail = ReturnDetail(row, ret.customer_email, ret.warehouse, ret.refund_method.value)
            for ln in ret.lines:
                detail.lines.append({"line": ln.line_no, "sku": ln.sku or "", "description": ln.description or "",
                                     "quantity": ln.quantity, "unit_price": ln.unit_price, "unit_cost": ln.unit_cost,
                                     "reason": ln.reason_code or "", "disposition": ln.disposition or ""})
            for fee in ret.fees:
                detail.fees.append({"type": fee.fee_type.value, "amount": fee.amount})
            detail.documents = docs
            detail.reasons = [{"code": q.code, "message": q.message, "at": q.created_at} for q in s.scalars(
                sa.select(QuarantineReason).where(QuarantineReason.return_id == return_id,
                                                  QuarantineReason.resolved_at.is_(None)))]
            detail.manual = [{"path": m.path.value, "status": m.status.value, "number": m.ledger_doc_number,
                              "by": m.created_by, "at": m.created_at} for m in s.scalars(
                sa.select(ManualEntry).where(ManualEntry.return_id == return_id).order_by(ManualEntry.id))]
            cond = EventLog.rma == ret.rma_number
            if keys:
                cond = sa.or_(cond, EventLog.document_key.in_(keys))
            events = s.scalars(sa.select(EventLog).where(cond).order_by(EventLog.id.desc()).limit(history_limit))
            detail.history = [{"at": e.occurred_at, "kind": e.kind, "severity": e.severity, "message": e.message,
                               "key": e.document_key, "platform_code": e.platform_code,
                               "platform_message": e.platform_message} for e in events]
        return detail


def _document(r: OutboxDocument) -> DocumentView:
    err = r.last_error or {}
    message = err.get("message")
    if err.get("platform_message"):
        message = f"{message or ''} ({err.get('platform_code') or ''} {err['platform_message']})".strip()
    if err.get("resolution") == "adopted":
        message = "Adopted: it was already in the ledger"
    total = r.total if r.total_minor is not None and r.currency else None
    return DocumentView(r.idempotency_key, r.role, r.doc_type, r.status.value, r.remote_number, r.remote_id, total,
                        r.txn_date.isoformat() if r.txn_date else None, r.attempts,
                        str(message) if message else None, r.awaiting_number, r.remote_state, r.posted_at)


EXPORT_HEADER = ("Organization", "RMA", "RMS id", "Revision", "Customer", "Channel", "Refund", "Currency",
                 "Status", "RMS status", "Documents", "Posted", "Ledger numbers", "Updated (UTC)")


def _export_row(r: ReturnRow) -> list[object]:
    return [r.org, r.rma, r.rms_id, r.revision, r.customer, r.channel,
            f"{r.refund.amount:f}" if r.refund is not None else "", r.currency, r.status, r.rms_status,
            r.documents, r.posted, " ".join(r.numbers), r.updated_at.isoformat()]
