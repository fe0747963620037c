"""Preparing and validating a manual entry: the sync's own plan, plus what only a person can get wrong.

The documents come from the one planner (:func:`desktop.services.pipeline.plan.plan_return`), so a
return entered by hand is planned exactly as the sync would plan it — the same mapping, reference
data and exchange rates. On top of pre-flight come the checks of a hand-typed entry: the amount
typed, the document number, and whether the return is already posted, queued or entered.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.services.core.domain import Problem, ReturnRecord
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.money import Money
from desktop.services.manual.base import ServiceBase
from desktop.services.manual.model import ManualForm, Prepared
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.plan import plan_return
from desktop.services.pipeline.preflight import merge_problems
from desktop.services.platforms.registry import platform_for
from desktop.services.store.models import (
    ManualEntry,
    ManualEntryPath,
    ManualEntryStatus,
    OutboxDocument,
    OutboxStatus,
    Return,
)

__all__ = ["Planning", "redate"]


class Planning(ServiceBase):
    """``prepare`` and ``validate`` of :class:`~desktop.services.manual.service.ManualEntryService`."""

    def prepare(self, org: str, rma: str, *, txn_date: date | None = None) -> Prepared:
        """Recipes + pre-flight for the newest revision of ``rma``, optionally re-dated."""
        out = Prepared(org, rma)
        try:
            ctx = self._planner.context(org)
        except NeedsPersonError:
            out.problems.append(Problem("unknown_organization", f"There is no organization {org!r}.", "org"))
            return out
        out.platform = ctx.platform
        with self._db.session() as s:
            row = s.scalar(sa.select(Return).where(Return.organization_id == ctx.id, sa.or_(
                Return.rma_number == rma, Return.rms_id == rma)).order_by(Return.revision.desc()).limit(1)
                .options(selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines)))
            if row is None:
                out.problems.append(Problem("return_not_found", f"{org} has no return {rma!r}: check the RMA number, "
                                            "or pull returns from the RMS first.", "rma"))
                return out
            out.return_id, out.revision, out.currency, out.rma = row.id, row.revision, row.currency, row.rma_number
            try:
                record: ReturnRecord = ctx.record(row)
            except ValueError as exc:
                out.problems.append(Problem("return_unreadable", f"{exc}: fix it in the RMS, then pull again.", "rma"))
                return out
        out.refund = record.computed_refund()
        out.home_refund = ctx.home_value(record, out.refund) if out.refund is not None else None
        day = txn_date
        plan = plan_return(ctx, record, rework=None if day is None else (lambda d: redate(d, day)))
        out.documents, out.problems = plan.documents, plan.problems
        return out

    def validate(self, form: ManualForm) -> Prepared:
        """Pre-flight plus the manual checks; nothing is written (safe to call as the person types)."""
        prepared = self.prepare(form.org, form.rma.strip(), txn_date=form.txn_date)
        if prepared.return_id is None:
            return prepared
        extra: list[Problem] = []
        if form.amount is not None and prepared.refund is not None and \
                Money(form.amount, prepared.refund.currency) != prepared.refund:
            extra.append(Problem("amount_mismatch", f"You typed a refund of {form.amount} {prepared.currency}, but "
                                 f"return {prepared.rma} refunds {prepared.refund}: check the figure in the RMS.",
                                 "amount"))
        number = (form.doc_number or "").strip()
        if form.path is ManualEntryPath.ENTERED_DIRECTLY:
            if not number:
                extra.append(Problem("doc_number_required", "Type the number the ledger gave the document you entered, "
                                     "so the sync can find it and never post it again.", "doc_number"))
            elif (limit := platform_for(prepared.platform).doc_number_max) is not None and len(number) > limit:
                extra.append(Problem("doc_number_too_long", f"{platform_for(prepared.platform).short_name} document "
                                     f"numbers have at most {limit} characters; “{number}” has {len(number)}.",
                                     "doc_number"))
        extra += self._duplicates(prepared)
        prepared.problems = merge_problems(prepared.problems, extra)
        return prepared

    def _duplicates(self, prepared: Prepared) -> list[Problem]:
        keys = [d.idempotency_key for d in prepared.documents]
        if not keys:
            return []
        out: list[Problem] = []
        with self._db.session() as s:
            rows = {r.idempotency_key: r for r in s.scalars(
                sa.select(OutboxDocument).where(OutboxDocument.idempotency_key.in_(keys)))}
            entries = list(s.scalars(sa.select(ManualEntry).where(
                ManualEntry.idempotency_key.in_(keys), ManualEntry.status != ManualEntryStatus.CANCELLED)))
        for doc in prepared.documents:
            row = rows.get(doc.idempotency_key)
            what = f"{doc.doc_type} {doc.role.replace('_', ' ')}"
            if row is None:
                continue
            if row.status is OutboxStatus.POSTED:
                out.append(Problem("already_posted", f"{what} of {prepared.rma} is already in the ledger as "
                                   f"{row.remote_number or row.remote_id}: entering it again would post it twice.",
                                   "rma"))
            elif row.status in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.UNCERTAIN):
                out.append(Problem("already_queued", f"{what} of {prepared.rma} is already queued for the ledger "
                                   f"({row.status.value}); the sync will post it once — do not enter it by hand.",
                                   "rma"))
        for entry in entries:
            out.append(Problem("already_entered", f"{prepared.rma} was already recorded by hand by {entry.created_by} "
                               f"({entry.path.value.replace('_', ' ')}, {entry.status.value}).", "rma"))
        return out


def redate(doc: LedgerDocument, day: date) -> LedgerDocument:
    """``doc`` dated ``day`` (the date a person entered it under), payload included (its platform's date field)."""
    return replace(doc, txn_date=day, payload=platform_for(doc.platform).with_date(doc.doc_type, doc.payload, day))

