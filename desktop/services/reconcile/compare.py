"""The pure comparison: what we intended (outbox) and the RMS mirror against what the ledger holds.

Rules, in the order they are applied to each document we posted:

1. not found in the period's read *and* a by-id read says it is gone → ``deleted_in_ledger``;
   found with status voided / deleted → ``voided_in_ledger`` / ``deleted_in_ledger``;
2. otherwise each field is compared and each difference gets one class: currency or rate →
   ``fx_mismatch``; tax → ``tax_mismatch`` (the total moving with the tax is part of that one
   variance, not a second one); total → ``amount_mismatch``; date → ``date_mismatch`` (within
   the period or moved across its boundary — ``fields.date.moved_out_of_period`` says which);
   a difference no larger than the rounding tolerance → ``rounding`` instead;
   a tracked item's quantity on a live document (ledger items the engine says the ledger tracks)
   that differs from the quantity we sent → ``quantity_mismatch``, one per document naming each
   such item with both quantities (``fields["quantity <item>"]``); compared only where both sides
   say their quantities (an older outbox row, or a line without one, is not compared). It carries
   no money difference: a changed quantity whose total stayed moves stock and cost of goods sold
   in the ledger, not the document's amount;
3. further live ledger documents carrying the same key → ``duplicate_in_ledger`` each;
4. documents due but never posted, and RMS returns without any document → ``missing_in_ledger``
   (``not_posted_quarantined`` when pre-flight holds the return for a person);
5. ledger documents carrying a key of ours that no outbox row knows → ``missing_in_rms``.

Every variance carries its documents' part of ``ledger − expected`` (:mod:`.bridge`), so the
difference per currency always equals the sum of the variances' differences.

The rounding tolerance is one minor unit of the currency per document line (a ledger that
recomputes tax per line may differ from the RMS by at most that).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core.money import is_known_currency, minor_units
from desktop.services.platforms.interface import DocView
from desktop.services.reconcile.bridge import Sums, build_totals, document_amount, explained, from_minor, to_minor
from desktop.services.reconcile.model import (
    POSTED,
    Expected,
    Period,
    RmsReturn,
    VarianceClass,
    VarianceFinding,
)

__all__ = ["CompareResult", "compare", "not_posted", "tolerance"]

ZERO = Decimal(0)
VC = VarianceClass


def tolerance(currency: str | None, lines: int = 1) -> Decimal:
    """The largest difference that counts as rounding: one minor unit per line (at least one)."""
    places = minor_units(currency) if currency and is_known_currency(currency) else 2
    return Decimal(1).scaleb(-places) * max(1, lines)


def _text(value: Decimal | date | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _qty(value: Decimal) -> str:
    """A quantity as people write it (``2``, ``2.5``: the ledger's ``2.0000`` is ``2``)."""
    return format(value.normalize() if value else ZERO, "f")


def _minor(value: Decimal, currency: str | None) -> int:
    return to_minor(value, currency)


@dataclass
class CompareResult:
    variances: list[VarianceFinding] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    matched: int = 0
    sums: Sums = field(default_factory=Sums)
    documents: dict[str, int] = field(default_factory=dict)

    def by_class(self) -> dict[str, int]:
        out: dict[str, int] = {c.value: 0 for c in VarianceClass}
        for v in self.variances:
            out[v.variance_class.value] += 1
        return out


def _finding(cls: VarianceClass, exp: Expected, doc: DocView | None, fields: dict[str, dict[str, Any]],
             diff: Decimal | None = None) -> VarianceFinding:
    currency = exp.currency or (doc.currency if doc else None)
    return VarianceFinding(cls, exp.rma, doc.remote_id if doc else exp.remote_id, exp.key, fields, currency,
                           _minor(diff, currency) if diff is not None else None, exp.outbox_id, exp.return_id,
                           exp.doc_type)


def _fields_differences(exp: Expected, doc: DocView, period: Period) -> list[VarianceFinding]:
    """Rule 2: field by field, one class per difference."""
    out: list[VarianceFinding] = []
    tol = tolerance(exp.currency, len(doc.lines or ()))
    if (exp.currency and doc.currency and exp.currency != doc.currency) or (
            exp.rate is not None and doc.rate is not None and exp.rate != doc.rate):
        out.append(_finding(VC.FX_MISMATCH, exp, doc, {
            "currency": {"rms": exp.currency, "ledger": doc.currency},
            "rate": {"rms": _text(exp.rate), "ledger": _text(doc.rate)}}))
        return out  # amounts in another currency or at another rate are not comparable one by one
    dtotal = (doc.total - exp.total) if doc.total is not None and exp.total is not None else ZERO
    dtax = (doc.tax or ZERO) - exp.tax if exp.tax is not None and (doc.tax is not None or doc.total is not None) \
        else ZERO
    total_field = {"rms": _text(exp.total), "ledger": _text(doc.total)}
    if dtax:
        tax_fields = {"tax": {"rms": _text(exp.tax), "ledger": _text(doc.tax or ZERO)}}
        if dtotal:
            tax_fields["total"] = total_field
        small = abs(dtax) <= tol and abs(dtotal) <= tol
        out.append(_finding(VC.ROUNDING if small else VC.TAX_MISMATCH, exp, doc, tax_fields, dtax))
        if dtotal:
            dtotal -= dtax  # what is left of the total's difference is not explained by tax
    if dtotal:
        small = abs(dtotal) <= tol
        out.append(_finding(VC.ROUNDING if small else VC.AMOUNT_MISMATCH, exp, doc, {"total": total_field},
                            dtotal))
    if exp.txn_date is not None and doc.txn_date is not None and exp.txn_date != doc.txn_date:
        out.append(_finding(VC.DATE_MISMATCH, exp, doc, {"date": {
            "rms": _text(exp.txn_date), "ledger": _text(doc.txn_date),
            "moved_out_of_period": period.contains(exp.txn_date) != period.contains(doc.txn_date)}}))
    return out


def _quantities(exp: Expected, doc: DocView, tracked: Collection[str]) -> list[VarianceFinding]:
    """Rule 2's quantities: the tracked items whose quantity differs, in one variance (no money)."""
    if not tracked or exp.items is None or doc.items is None:
        return []
    ours, theirs = dict(exp.items), dict(doc.items)
    fields: dict[str, dict[str, Any]] = {}
    for item in sorted((set(ours) | set(theirs)) & set(tracked)):
        mine, held = ours.get(item, ZERO), theirs.get(item, ZERO)
        if mine is None or held is None or mine == held:
            continue  # a line without a quantity: not known, so not compared
        label = tracked.get(item, item) if isinstance(tracked, Mapping) else item
        fields[f"quantity {item}"] = {"rms": _qty(mine), "ledger": _qty(held), "item": label}
    return [_finding(VC.QUANTITY_MISMATCH, exp, doc, fields)] if fields else []


def _document(exp: Expected, doc: DocView | None, period: Period,
              tracked: Collection[str] = frozenset()) -> list[VarianceFinding]:
    """Rules 1 and 2 for one posted document."""
    if doc is None or doc.status == "deleted":
        return [_finding(VC.DELETED_IN_LEDGER, exp, doc, {
            "status": {"rms": "posted", "ledger": "deleted"}, "total": {"rms": _text(exp.total), "ledger": None}},
            -exp.total if exp.total is not None else None)]
    if doc.status == "voided":
        return [_finding(VC.VOIDED_IN_LEDGER, exp, doc, {
            "status": {"rms": "posted", "ledger": "voided"},
            "total": {"rms": _text(exp.total), "ledger": _text(doc.total)}},
            -exp.total if exp.total is not None else None)]
    return _fields_differences(exp, doc, period) + _quantities(exp, doc, tracked)


def _settle(found: list[VarianceFinding], target: Mapping[str, int]) -> None:
    """Give a document's variances exactly the part of the difference its documents make
    (``target``: ledger held − expected due, per currency): what the field rules did not assign
    goes to the date variance (a move across the period boundary), else the currency one, else
    the last."""
    carrier = next((f for f in found if f.variance_class is VC.DATE_MISMATCH), None) or next(
        (f for f in found if f.variance_class is VC.FX_MISMATCH), None) or next(
        (f for f in reversed(found) if f.variance_class is not VC.QUANTITY_MISMATCH), found[-1])
    have = explained(found)
    for cur in sorted(set(target) | set(have)):
        gap = target.get(cur, 0) - have.get(cur, 0)
        if not gap:
            continue
        if carrier.currency is None:
            carrier.currency = cur
        if carrier.currency == cur:
            carrier.difference_minor = (carrier.difference_minor or 0) + gap
        else:
            carrier.effects = (*carrier.effects, (cur, gap))


def compare(expected: Iterable[Expected], ledger: Iterable[DocView], period: Period, *,
            by_id: Mapping[tuple[str, str], DocView | None] | None = None,
            rms: Iterable[RmsReturn] = (), home_currency: str | None = None,
            tracked: Collection[str] = frozenset()) -> CompareResult:
    """Every variance between ``expected`` (plus the RMS mirror) and ``ledger`` (see module docstring).

    Each variance carries the part of ``ledger − expected`` its documents make (see
    :mod:`.bridge`), so the totals' difference per currency is the sum of the variances'.

    Args:
        expected: outbox documents dated in the period, plus those whose key the period's ledger
            documents carry (so a document moved into the period is compared, not orphaned).
        ledger: the ledger's documents dated in the period.
        period: the ledger dates reconciled.
        by_id: documents read one by one because the period read did not find them (None: gone).
        rms: the RMS mirror's returns in the period.
        home_currency: the currency of a ledger document that names none.
        tracked: the items whose quantity the ledger keeps (as the platform's lines name them):
            only their quantities are compared; a mapping gives each the name people know it by
            (the variance's ``item``), else the line's own name is shown.
    """
    result = CompareResult()
    sums = result.sums
    docs = list(ledger)
    lookups = dict(by_id or {})

    def cur_of(d: DocView, exp: Expected | None = None) -> str:
        return d.currency or (exp.currency if exp else None) or home_currency or "home"

    by_remote: dict[tuple[str, str], DocView] = {(d.doc_type, d.remote_id): d for d in docs}
    held: set[tuple[str, str]] = {(d.doc_type, d.remote_id) for d in docs if d.live and d.our_key}
    by_key: dict[str, list[DocView]] = defaultdict(list)
    for d in docs:
        if d.our_key:
            by_key[d.our_key].append(d)
    for (doc_type, remote_id), found in lookups.items():
        if found is not None and (doc_type, remote_id) not in by_remote:
            by_remote[(doc_type, remote_id)] = found
            if found.live and found.our_key and period.contains(found.txn_date):
                held.add((doc_type, remote_id))
            if found.our_key:
                by_key[found.our_key].append(found)
    for ident in sorted(held):
        d = by_remote[ident]
        sums.add_ledger(cur_of(d), d.total or ZERO, d.txn_date, d.accounts)

    def held_part(d: DocView | None, exp: Expected | None = None) -> dict[str, int]:
        if d is None or (d.doc_type, d.remote_id) not in held:
            return {}
        return {cur_of(d, exp): to_minor(d.total or ZERO, cur_of(d, exp))}

    def due(exp: Expected, landed: bool) -> dict[str, int]:
        """The expected document's part of the expected total (added once), {} when not due."""
        if exp.total is None or not exp.currency or not period.contains(exp.txn_date):
            return {}
        if not landed and exp.recent:
            return {}
        return {exp.currency: to_minor(exp.total, exp.currency)}

    def pair(found: list[VarianceFinding], target: dict[str, int], exp: Expected, doc: DocView | None) -> None:
        if any(target.values()) and all(f.variance_class is VC.QUANTITY_MISMATCH for f in found):
            # e.g. the period read missed a document the by-id read found
            found.append(_finding(VC.MISSING_IN_LEDGER if sum(target.values()) < 0 else VC.MISSING_IN_RMS, exp, doc,
                                  {"in_period": {"rms": period.contains(exp.txn_date),
                                                 "ledger": doc is not None and period.contains(doc.txn_date)}}))
        if found:
            _settle(found, target)
        result.variances.extend(found)

    known_keys: set[str] = set()
    claimed: set[tuple[str, str]] = set()
    exps = list(expected)
    for exp in exps:
        known_keys.add(exp.key)
    for exp in exps:
        if exp.status != POSTED or not exp.remote_id:
            carried = [d for d in by_key.get(exp.key, []) if d.live]
            owed = due(exp, bool(carried))
            for cur, m in owed.items():
                sums.add_expected(cur, from_minor(m, cur), exp.txn_date, exp.role)
            if carried:
                # in the ledger although we never recorded the post (an uncertain send that landed)
                claimed.update((d.doc_type, d.remote_id) for d in carried)
                pair(_document(exp, carried[0], period, tracked), _minus(held_part(carried[0], exp), owed), exp,
                     carried[0])
                for d in carried[1:]:
                    pair([_finding(VC.DUPLICATE_IN_LEDGER, exp, d, {"count": {"rms": 1, "ledger": len(carried)}})],
                         held_part(d, exp), exp, d)
                continue
            if not exp.recent:
                pair([_finding(VC.MISSING_IN_LEDGER, exp, None, {
                    "status": {"rms": exp.status, "ledger": None},
                    "total": {"rms": _text(exp.total), "ledger": None}})], _minus({}, owed), exp, None)
            continue
        ident = (exp.doc_type, exp.remote_id)
        doc = by_remote.get(ident)
        claimed.add(ident)
        owed = due(exp, True)
        for cur, m in owed.items():
            sums.add_expected(cur, from_minor(m, cur), exp.txn_date, exp.role)
        differences = _document(exp, doc, period, tracked)
        target = _minus(held_part(doc, exp), owed)
        if not differences and not any(target.values()):
            result.matched += 1
        pair(differences, target, exp, doc)
        for other in by_key.get(exp.key, []):
            if (other.doc_type, other.remote_id) != ident and other.live and (
                    other.doc_type, other.remote_id) not in claimed:
                claimed.add((other.doc_type, other.remote_id))
                pair([_finding(VC.DUPLICATE_IN_LEDGER, exp, other, {
                    "count": {"rms": 1, "ledger": 1 + sum(1 for d in by_key[exp.key]
                                                          if d.live and (d.doc_type, d.remote_id) != ident)},
                    "total": {"rms": _text(exp.total), "ledger": _text(other.total)}})],
                    held_part(other, exp), exp, other)
    for d in docs:
        if d.our_key and d.our_key not in known_keys and d.live:
            cur = cur_of(d)
            result.variances.append(VarianceFinding(
                VC.MISSING_IN_RMS, None, d.remote_id, d.our_key, {
                    "total": {"rms": None, "ledger": _text(d.total)}, "number": {"rms": None, "ledger": d.number}},
                cur, to_minor(d.total or ZERO, cur), doc_type=d.doc_type))
    for ret in rms:
        if ret.refund_total is not None:
            sums.add_rms(ret.currency, ret.refund_total, ret.day)
        if not ret.has_documents and ret.sync_status not in ("superseded", "ignored"):
            result.variances.append(not_posted(ret, sums))
    result.documents = {"expected": len(exps), "ledger": len(docs), "ours_in_ledger": sum(1 for d in docs if d.our_key),
                        "looked_up": len(lookups),
                        "unknown_keys": sum(1 for d in docs if d.our_key and d.our_key not in known_keys)}
    result.totals = build_totals(sums, result.variances, result.documents)
    return result


def _minus(held: dict[str, int], owed: dict[str, int]) -> dict[str, int]:
    out = dict(held)
    for cur, m in owed.items():
        out[cur] = out.get(cur, 0) - m
    return out


def not_posted(ret: RmsReturn, sums: Sums) -> VarianceFinding:
    """A return the RMS holds with no document at all: its refund is expected and missing.

    Held by pre-flight (quarantined) it is its own class, "not posted: quarantined"; a record
    whose currency is unreadable is counted in the organization's currency and says so. A dearer
    exchange's (negative) refund is the charge its missing document would carry (bridge rule).
    """
    fields: dict[str, dict[str, Any]] = {"refund_total": {"rms": _text(ret.refund_total), "ledger": None},
                                         "sync_status": {"rms": ret.sync_status, "ledger": None}}
    if ret.unreadable_currency is not None:
        fields["currency"] = {"rms": f"{ret.unreadable_currency or 'missing'} (not a currency; counted as "
                                     f"{ret.currency})", "ledger": None}
    if ret.refund_total is not None:
        sums.add_not_posted(ret.currency, ret.refund_total, ret.day)
    cls = VC.NOT_POSTED_QUARANTINED if ret.sync_status == "quarantined" else VC.MISSING_IN_LEDGER
    return VarianceFinding(cls, ret.rma, None, None, fields, ret.currency,
                           -to_minor(document_amount(ret.refund_total), ret.currency)
                           if ret.refund_total is not None else None,
                           return_id=ret.return_id or None)
