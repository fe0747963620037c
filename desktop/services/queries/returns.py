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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.services.core.csv_safe import SafeWriter
from desktop.services.core.money import Money
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

__all__ = ["ATTENTION", "SORT_KEYS", "DocumentView", "ReturnDetail", "ReturnFilter", "ReturnRow", "ReturnsQuery"]

#: A status filter value: quarantined returns and returns with a failed/quarantined/uncertain document.
ATTENTION = "attention"
_TROUBLE = (OutboxStatus.FAILED, OutboxStatus.QUARANTINED, OutboxStatus.UNCERTAIN)

SORT_KEYS: dict[str, Any] = {
    "org": Organization.code, "rma": Return.rma_number, "revision": Return.revision,
    "customer": Return.customer_name, "channel": Return.channel, "refund": Return.refund_total_minor,
    "currency": Return.currency, "status": Return.sync_status, "rms_status": Return.rms_status,
    "updated": Return.rms_updated_at,
}


@dataclass(frozen=True)
class ReturnFilter:
    """What the grid shows: one organization (or all), a status (or :data:`ATTENTION`), a search."""

    org: str | None = None
    status: str | None = None
    text: str = ""
    include_superseded: bool = False


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
        return conds

    def count(self, f: ReturnFilter) -> int:
        stmt = sa.select(sa.func.count()).select_from(Return).join(Organization).where(*self._where(f))
        with self._db.session() as s:
            return int(s.scalar(stmt) or 0)

    def window(self, f: ReturnFilter, offset: int, limit: int, sort: str = "updated",
               descending: bool = True) -> list[ReturnRow]:
        """Rows ``offset`` … ``offset + limit`` in the given order (ties broken by id)."""
        col = SORT_KEYS.get(sort, Return.rms_updated_at)
        order = [col.desc(), Return.id.desc()] if descending else [col.asc(), Return.id.asc()]
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
        w.writerow(["Organization", "RMA", "RMS id", "Revision", "Customer", "Channel", "Refund", "Currency",
                    "Status", "RMS status", "Documents", "Posted", "Ledger numbers", "Updated (UTC)"])
        n = 0
        for r in self.iter_all(f, sort, descending):
            w.writerow([r.org, r.rma, r.rms_id, r.revision, r.customer, r.channel,
                        f"{r.refund.amount:f}" if r.refund is not None else "", r.currency, r.status, r.rms_status,
                        r.documents, r.posted, " ".join(r.numbers), r.updated_at.isoformat()])
            n += 1
        return buf.getvalue(), n

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
                                     "quantity": ln.quantity, "unit_price": ln.unit_price,
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
