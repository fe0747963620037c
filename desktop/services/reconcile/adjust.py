"""Adjusting entries for variances: a balanced journal for the difference, posted like any document.

"Create an adjusting entry" on the Reconciliation page must not be a side door into the ledger:
the journal (QBO ``JournalEntry`` / Xero ``ManualJournal``) goes through the same pre-flight as
the recipes' documents (accounts exist and are active, period open, debits = credits, currency
enabled) and then into the outbox, where the poster sends it with the same idempotency, retries
and audit trail. :meth:`AdjustService.plan` builds and checks (no writes, so the view can show the
problems); :meth:`AdjustService.enqueue` requires ``review_variances``, refuses a plan with
problems, enqueues, and appends to the audit log. The key is derived from the variance, so asking
twice queues one journal. With the organization's maker-checker policy on and the journal's home
amount at or above its threshold, nothing is queued until a second person approves
(:meth:`AdjustService.enqueue_approved`, :mod:`desktop.services.admin.approvals`).

An adjustment corrects a return's posting, so the variance must name a return (variances without
one — e.g. missing in RMS — are voided or accepted instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from desktop.services.admin import approvals, audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core import keys
from desktop.services.core.clock import Clock
from desktop.services.core.domain import Problem
from desktop.services.core.enums import ApprovalKind
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.core.money import Money
from desktop.services.mapping.service import MappingService
from desktop.services.pipeline import outbox
from desktop.services.pipeline.documents import LedgerDocument, line
from desktop.services.pipeline.plan import Planner, plan_documents
from desktop.services.pipeline.recipes import platform_for as recipes_for
from desktop.services.store.connection_choice import org_connection
from desktop.services.store.db import Database
from desktop.services.store.models import (
    ApprovalRequest,
    Organization,
    ReconciliationRun,
    Return,
    Variance,
)

__all__ = ["AdjustPlan", "AdjustService"]

_NOT_FOR_JOURNALS = frozenset({"customer_unresolvable", "total_mismatch"})


@dataclass
class AdjustPlan:
    """One adjusting journal for one variance, and every reason it must not be queued yet."""

    org: str
    variance_id: int
    return_id: int | None = None
    document: LedgerDocument | None = None
    problems: list[Problem] = field(default_factory=list)
    #: What it was planned from (a maker-checker request re-plans from these on approval).
    inputs: dict[str, Any] = field(default_factory=dict)
    #: The journal's amount in the home currency at the planner's rate (None: no rate known).
    home_total: Money | None = None

    @property
    def ok(self) -> bool:
        return self.document is not None and not self.problems


class AdjustService:
    """Builds, checks and queues adjusting journals (see the module docstring)."""

    def __init__(self, db: Database, clock: Clock, bus: EventBus | None, mapping: MappingService, *,
                 planner: Planner | None = None) -> None:
        self._db, self._clock, self._bus, self._mapping = db, clock, bus, mapping
        # The one planner's organization context (mapping, reference data, settings) and pre-flight.
        self._planner = planner or Planner(db, clock, mapping)

    def plan(self, org: str, variance_id: int, debit_account: str, credit_account: str, *,
             txn_date: date | None = None, memo: str = "") -> AdjustPlan:
        """A journal for |difference|: Dr ``debit_account``, Cr ``credit_account`` (ledger account ids)."""
        out = AdjustPlan(org, variance_id, inputs={
            "org": org, "variance_id": variance_id, "debit_account": debit_account, "credit_account": credit_account,
            "txn_date": txn_date.isoformat() if txn_date else None, "memo": memo})
        ctx = self._planner.context(org)
        with self._db.session() as s:
            row = s.execute(sa.select(Variance, Organization).select_from(Variance).join(
                ReconciliationRun, ReconciliationRun.id == Variance.run_id).join(
                Organization, Organization.id == ReconciliationRun.organization_id)
                .where(Variance.id == variance_id, Organization.code == org)).one_or_none()
            if row is None:
                raise NeedsPersonError(f"{org} has no variance {variance_id}")
            v = row[0]
            if not v.difference_minor or not v.currency:
                out.problems.append(Problem("nothing_to_adjust", f"Variance {variance_id} has no amount "
                                            "difference: accept or resolve it instead.", "difference"))
                return out
            ret = s.scalar(sa.select(Return).where(Return.id == v.return_id).options(
                selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))
            ) if v.return_id else None
            if ret is None:
                out.problems.append(Problem("adjust_needs_return", f"Variance {variance_id} names no return, so an "
                                            "adjustment has nothing to correct: void or accept it.", "return"))
                return out
            out.return_id, currency, diff = ret.id, v.currency, v.difference_minor
            rms_id, revision, rma = ret.rms_id, ret.revision, ret.rma_number
            record = ctx.record(ret)
        snapshot, platform, home = ctx.snapshot, ctx.platform, ctx.home_currency
        day = txn_date or ctx.today()
        amount = Money.from_minor_units(abs(diff), currency)
        key = keys.idempotency_key(org, rms_id, revision, f"adjust-v{variance_id}")
        text = keys.memo_text(key, rma, revision, memo or f"adjusting entry for variance {variance_id}")
        names = {a: (snapshot.accounts[a].name if a in snapshot.accounts else a)
                 for a in (debit_account, credit_account)}
        journal = (line(debit_account, names[debit_account], amount, text, debit=True),
                   line(credit_account, names[credit_account], amount, text, debit=False))
        # The platform's renderer writes the payload (QBO JournalEntry / Xero ManualJournal).
        doc_type, payload = recipes_for(platform).render_adjustment(journal, text, day, currency, home)
        out.document = LedgerDocument(
            role="adjustment", platform=platform, doc_type=doc_type, idempotency_key=key, txn_date=day,
            currency=currency, total=amount, payload=payload, journal=journal, source=(org, rms_id, revision),
            mapping_version=ctx.resolver.version, home_currency=home, refund_effect=Money(Decimal(0), currency),
            extra={"variance_id": variance_id})
        # A journal names no customer, and it corrects the ledger rather than carrying the return's
        # refund, so the customer and "documents add up to the refund" checks are not about it.
        out.problems = plan_documents(ctx, record, [out.document], not_checked=_NOT_FOR_JOURNALS).problems
        out.home_total = ctx.home_value(record, amount)
        return out

    def enqueue(self, actor: Actor, plan: AdjustPlan) -> str:
        """Queue a clean plan in the outbox (audited); returns the document's key.

        Maker-checker: when the organization's policy wants a second person for this amount, the
        journal is not queued; a request waits (:meth:`enqueue_approved`; the dashboard's Approvals card
        lists it) and the key is returned all the same."""
        actor.require(Action.REVIEW_VARIANCES)
        doc = self._clean(plan)
        with self._db.write_session() as s:
            org_id = s.scalar(sa.select(Organization.id).where(Organization.code == plan.org))
            assert org_id is not None
            if approvals.policy(s, org_id).needs(ApprovalKind.ADJUSTMENT, plan.home_total):
                req = approvals.request(s, self._clock, actor, org_id, ApprovalKind.ADJUSTMENT,
                                        f"variance:{plan.variance_id}", f"Adjusting {doc.doc_type} of {doc.total} for "
                                        f"variance {plan.variance_id}", plan.inputs, amount=doc.total,
                                        home_amount=plan.home_total)
            else:
                req = None
                self._enqueue_in(s, actor, plan, org_id)
        if req is not None:
            self._emit(approvals.EVENT_REQUESTED, f"{plan.org}: adjusting {doc.doc_type} for variance "
                       f"{plan.variance_id} waits for a second person's approval (request {req.id})", plan, doc)
        else:
            self._emit(EventKind.DOCUMENT_PLANNED, f"{plan.org}: adjusting {doc.doc_type} for variance "
                       f"{plan.variance_id} queued by {actor.username}", plan, doc)
        return doc.idempotency_key

    def enqueue_approved(self, actor: Actor, request_id: int, note: str = "") -> str:
        """Maker-checker: re-plan request ``request_id``'s journal and queue it, approved by ``actor`` in
        the same transaction; refused if the variance's amount changed since it was asked for."""
        with self._db.session() as s:
            row = approvals.precheck(s.get(ApprovalRequest, request_id), actor, request_id, ApprovalKind.ADJUSTMENT)
            inputs, asked, maker = dict(row.payload), row.amount, row.requested_by
        day = inputs.get("txn_date")
        plan = self.plan(str(inputs["org"]), int(inputs["variance_id"]), str(inputs["debit_account"]),
                         str(inputs["credit_account"]), txn_date=date.fromisoformat(day) if day else None,
                         memo=str(inputs.get("memo") or ""))
        doc = self._clean(plan)
        if asked is not None and doc.total != asked:
            raise NeedsPersonError(f"Variance {plan.variance_id} now needs {doc.total}, not the {asked} asked for",
                                   action="reject the request; its maker can create the adjusting entry again")
        with self._db.write_session() as s:
            org_id = s.scalar(sa.select(Organization.id).where(Organization.code == plan.org))
            assert org_id is not None
            approvals.decide(s, self._clock, actor, request_id, note, approve=True, kind=ApprovalKind.ADJUSTMENT)
            self._enqueue_in(s, actor, plan, org_id, approval=request_id, maker=maker)
        self._emit(EventKind.DOCUMENT_PLANNED, f"{plan.org}: adjusting {doc.doc_type} for variance "
                   f"{plan.variance_id} queued, approved by {actor.username}", plan, doc)
        return doc.idempotency_key

    @staticmethod
    def _clean(plan: AdjustPlan) -> LedgerDocument:
        if not plan.ok or plan.document is None:
            raise NeedsPersonError("The adjusting entry did not pass pre-flight: " +
                                   "; ".join(p.message for p in plan.problems), action="fix the problems first")
        return plan.document

    def _enqueue_in(self, s: Session, actor: Actor, plan: AdjustPlan, org_id: int, *, approval: int | None = None,
                    maker: str | None = None) -> None:
        doc = self._clean(plan)
        inserted = outbox.enqueue(s, [doc], org_id, org_connection(s, org_id), plan.return_id, now=self._clock.now())
        audit.append(s, self._clock, actor=actor.username, action="variance.adjust",
                     target=f"variance:{plan.variance_id}", organization_id=org_id,
                     details={"key": doc.idempotency_key, "doc_type": doc.doc_type,
                              "amount": format(doc.total.amount, "f"), "currency": doc.currency,
                              "replay": not inserted,
                              **({"approval": approval, "requested_by": maker} if approval is not None else {})})

    def _emit(self, kind: str, message: str, plan: AdjustPlan, doc: LedgerDocument) -> None:
        if self._bus is not None:
            self._bus.emit(kind, Severity.INFO, message, org=plan.org, document_key=doc.idempotency_key,
                           details={"variance_id": plan.variance_id})
