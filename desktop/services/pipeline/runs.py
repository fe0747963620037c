"""Sync runs as people see them: each push run, and what it posted (read-only).

A push run (``sync_runs`` kind ``push``) lists the documents it posted through
``outbox_documents.run_id`` (stamped when the outbox settles a document as posted). An undo of a
run (:mod:`desktop.services.pipeline.undo`) is a run of its own, kind ``undo``, whose counts name
the run it took back (``of_run``).

The *scope* of an undo is the posting round of every return revision the run posted: the run's own
documents plus the other documents of those revisions still posted in the same round (a Xero
refund Payment may have gone in a later run than its CreditNote; a credit note cannot be voided
while the payment stands, and a return is taken back whole or not at all). A revision whose run
documents are all taken back already has started a new round, so its newer documents are never in
the scope of an old run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.money import Money
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Return, SyncRun

__all__ = ["LIVE", "RunDocument", "RunSummary", "load_run", "run_documents", "run_summaries", "scope_rows"]

#: Outbox states of a document that is (still) in the ledger and belongs to an undo's scope.
LIVE = (OutboxStatus.POSTED, OutboxStatus.VOID_PENDING)
#: Run kinds the runs list shows.
KINDS = ("push", "undo")


@dataclass(frozen=True)
class RunSummary:
    """One run: ``posted`` documents it posted, of which ``live`` are still in the ledger and
    ``undone`` were taken back by an undo (``of_run``: the run an undo run took back)."""

    id: int
    org: str | None
    kind: str
    status: str
    started: datetime
    finished: datetime | None
    posted: int
    live: int
    undone: int
    of_run: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "org": self.org, "kind": self.kind, "status": self.status,
                "started": self.started.isoformat(), "finished": self.finished.isoformat() if self.finished else None,
                "posted": self.posted, "live": self.live, "undone": self.undone, "of_run": self.of_run}


@dataclass(frozen=True)
class RunDocument:
    """One document of a run (or of its scope), with what the ledger showed when it was read."""

    key: str
    doc_type: str
    role: str
    rma: str | None
    remote_id: str | None
    number: str | None
    total: Money | None
    state: str                      # the outbox state: posted, void_pending, voided, …
    in_run: bool = True             # posted by this run (False: a companion of the same return round)
    action: str | None = None       # void | delete | None (nothing to do)
    ledger: str | None = None       # active | edited | changed | voided | deleted | unreadable (None: not read)
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        total = self.total
        return {"key": self.key, "doc_type": self.doc_type, "role": self.role, "rma": self.rma,
                "remote_id": self.remote_id, "number": self.number,
                "total": format(total.amount, "f") if total is not None else None,
                "currency": total.currency if total is not None else None, "state": self.state,
                "in_run": self.in_run, "action": self.action, "ledger": self.ledger, "note": self.note}


def _counts(s: Session, run_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    if not run_ids:
        return out
    for run_id, status, n in s.execute(
            sa.select(OutboxDocument.run_id, OutboxDocument.status, sa.func.count())
            .where(OutboxDocument.run_id.in_(run_ids)).group_by(OutboxDocument.run_id, OutboxDocument.status)):
        assert run_id is not None
        out.setdefault(run_id, {})[OutboxStatus(status).value] = int(n)
    return out


def _summary(run: SyncRun, org: str | None, counts: dict[str, int]) -> RunSummary:
    live = sum(counts.get(s.value, 0) for s in LIVE)
    undone = counts.get(OutboxStatus.VOIDED.value, 0)
    of_run = run.counts.get("of_run") if isinstance(run.counts, dict) else None
    return RunSummary(run.id, org, run.kind, run.status.value, run.started_at, run.finished_at,
                      sum(counts.values()), live, undone, int(of_run) if isinstance(of_run, int) else None)


def run_summaries(s: Session, org: str | None = None, limit: int = 100) -> list[RunSummary]:
    """Push and undo runs, newest first (``org``: one organization's)."""
    stmt = (sa.select(SyncRun, Organization.code).outerjoin(Organization, Organization.id == SyncRun.organization_id)
            .where(SyncRun.kind.in_(KINDS)))
    if org:
        stmt = stmt.where(Organization.code == org)
    rows = s.execute(stmt.order_by(SyncRun.id.desc()).limit(limit)).all()
    counts = _counts(s, [r.id for r, _ in rows])
    return [_summary(run, code, counts.get(run.id, {})) for run, code in rows]


def load_run(s: Session, run_id: int) -> tuple[SyncRun, str | None, RunSummary]:
    """The run ``run_id`` (refused when there is none)."""
    found = s.execute(sa.select(SyncRun, Organization.code).outerjoin(
        Organization, Organization.id == SyncRun.organization_id).where(SyncRun.id == run_id)).one_or_none()
    if found is None or found[0].kind not in KINDS:
        raise NeedsPersonError(f"There is no sync run {run_id} that posted documents",
                               action="see `returns-ledger runs list`")
    run, code = found
    return run, code, _summary(run, code, _counts(s, [run.id]).get(run.id, {}))


def run_documents(s: Session, run_id: int) -> list[RunDocument]:
    """What the run posted, oldest first, as the outbox holds it now."""
    rows = s.execute(sa.select(OutboxDocument, Return.rma_number)
                     .outerjoin(Return, Return.id == OutboxDocument.return_id)
                     .where(OutboxDocument.run_id == run_id).order_by(OutboxDocument.id)).all()
    return [document(row, rma) for row, rma in rows]


def document(row: OutboxDocument, rma: str | None, *, in_run: bool = True, action: str | None = None,
             ledger: str | None = None, note: str | None = None) -> RunDocument:
    return RunDocument(row.idempotency_key, row.doc_type, row.role, rma, row.remote_id, row.remote_number, row.total,
                       OutboxStatus(row.status).value, in_run, action, ledger, note)


def scope_rows(s: Session, run_id: int) -> list[OutboxDocument]:
    """The live documents an undo of ``run_id`` takes back (see the module docstring), dependents
    first (a refund payment before the credit note it pays), then oldest first."""
    own = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.run_id == run_id,
                                                         OutboxDocument.status.in_(LIVE))))
    returns = {r.return_id for r in own if r.return_id is not None}
    rows = {r.id: r for r in own}
    if returns:
        for r in s.scalars(sa.select(OutboxDocument).where(OutboxDocument.return_id.in_(sorted(returns)),
                                                           OutboxDocument.status.in_(LIVE))):
            rows[r.id] = r
    return sorted(rows.values(), key=lambda r: (r.depends_on is None, r.id))
