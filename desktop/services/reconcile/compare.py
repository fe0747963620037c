"""The pure comparison: what we intended (outbox) and the RMS mirror against what the ledger holds.

Rules, in the order they are applied to each document we posted:

1. not found in the period's read *and* a by-id read says it is gone → ``deleted_in_ledger``;
   found with status voided / deleted → ``voided_in_ledger`` / ``deleted_in_ledger``;
2. otherwise each field is compared and each difference gets one class: currency or rate →
   ``fx_mismatch``; tax → ``tax_mismatch`` (the total moving with the tax is part of that one
   variance, not a second one); total → ``amount_mismatch``; date → ``date_mismatch`` (within
   the period or moved across its boundary — ``fields.date.moved_out_of_period`` says which);
   a difference no larger than the rounding tolerance → ``rounding`` instead;
3. further live ledger documents carrying the same key → ``duplicate_in_ledger`` each;
4. documents due but never posted, and RMS returns without any document → ``missing_in_ledger``;
5. ledger documents carrying a key of ours that no outbox row knows → ``missing_in_rms``.

The rounding tolerance is one minor unit of the currency per document line (a ledger that
recomputes tax per line may differ from the RMS by at most that).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core.money import is_known_currency, minor_units
from desktop.services.platforms.interface import DocView
from desktop.services.reconcile.model import (
    POSTED,
    Expected,
    Period,
    RmsReturn,
    VarianceClass,
    VarianceFinding,
)

__all__ = ["CompareResult", "compare", "tolerance"]

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


def _minor(value: Decimal, currency: str | None) -> int:
    places = minor_units(currency) if currency and is_known_currency(currency) else 2
    return int((value * (Decimal(10) ** places)).to_integral_value())


@dataclass
class CompareResult:
    variances: list[VarianceFinding] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    matched: int = 0

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


def _document(exp: Expected, doc: DocView | None, period: Period) -> list[VarianceFinding]:
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
    return _fields_differences(exp, doc, period)


def compare(expected: Iterable[Expected], ledger: Iterable[DocView], period: Period, *,
            by_id: Mapping[tuple[str, str], DocView | None] | None = None,
            rms: Iterable[RmsReturn] = ()) -> CompareResult:
    """Every variance between ``expected`` (plus the RMS mirror) and ``ledger`` (see module docstring).

    Args:
        expected: outbox documents dated in the period, plus those whose key the period's ledger
            documents carry (so a document moved into the period is compared, not orphaned).
        ledger: the ledger's documents dated in the period.
        period: the ledger dates reconciled.
        by_id: documents read one by one because the period read did not find them (None: gone).
        rms: the RMS mirror's returns in the period.
    """
    result = CompareResult()
    docs = list(ledger)
    lookups = dict(by_id or {})
    by_remote: dict[tuple[str, str], DocView] = {(d.doc_type, d.remote_id): d for d in docs}
    by_key: dict[str, list[DocView]] = defaultdict(list)
    for d in docs:
        if d.our_key:
            by_key[d.our_key].append(d)
    for (doc_type, remote_id), found in lookups.items():
        if found is not None and (doc_type, remote_id) not in by_remote:
            by_remote[(doc_type, remote_id)] = found
            if found.our_key:
                by_key[found.our_key].append(found)
    known_keys: set[str] = set()
    claimed: set[tuple[str, str]] = set()
    exps = list(expected)
    for exp in exps:
        known_keys.add(exp.key)
    for exp in exps:
        if exp.status != POSTED or not exp.remote_id:
            carried = [d for d in by_key.get(exp.key, []) if d.live]
            if carried:
                # in the ledger although we never recorded the post (an uncertain send that landed)
                claimed.update((d.doc_type, d.remote_id) for d in carried)
                result.variances += _document(exp, carried[0], period)
                result.variances += [_finding(VC.DUPLICATE_IN_LEDGER, exp, d, {"count": {
                    "rms": 1, "ledger": len(carried)}}) for d in carried[1:]]
                continue
            if not exp.recent:
                result.variances.append(_finding(VC.MISSING_IN_LEDGER, exp, None, {
                    "status": {"rms": exp.status, "ledger": None},
                    "total": {"rms": _text(exp.total), "ledger": None}},
                    -exp.total if exp.total is not None else None))
            continue
        ident = (exp.doc_type, exp.remote_id)
        doc = by_remote.get(ident)
        claimed.add(ident)
        differences = _document(exp, doc, period)
        result.variances += differences
        if not differences:
            result.matched += 1
        for other in by_key.get(exp.key, []):
            if (other.doc_type, other.remote_id) != ident and other.live and (
                    other.doc_type, other.remote_id) not in claimed:
                claimed.add((other.doc_type, other.remote_id))
                result.variances.append(_finding(VC.DUPLICATE_IN_LEDGER, exp, other, {
                    "count": {"rms": 1, "ledger": 1 + sum(1 for d in by_key[exp.key]
                                                          if d.live and (d.doc_type, d.remote_id) != ident)},
                    "total": {"rms": _text(exp.total), "ledger": _text(other.total)}}, other.total))
    for d in docs:
        if d.our_key and d.our_key not in known_keys and d.live:
            result.variances.append(VarianceFinding(
                VC.MISSING_IN_RMS, None, d.remote_id, d.our_key, {
                    "total": {"rms": None, "ledger": _text(d.total)}, "number": {"rms": None, "ledger": d.number}},
                d.currency, _minor(d.total, d.currency) if d.total is not None else None, doc_type=d.doc_type))
    for ret in rms:
        if not ret.has_documents and ret.sync_status not in ("superseded", "ignored"):
            result.variances.append(VarianceFinding(
                VC.MISSING_IN_LEDGER, ret.rma, None, None, {
                    "refund_total": {"rms": _text(ret.refund_total), "ledger": None},
                    "sync_status": {"rms": ret.sync_status, "ledger": None}},
                ret.currency, -_minor(ret.refund_total, ret.currency) if ret.refund_total is not None else None,
                return_id=ret.return_id))
    result.totals = totals(exps, docs, lookups, rms, known_keys)
    return result


def totals(exps: list[Expected], docs: list[DocView], lookups: Mapping[tuple[str, str], DocView | None],
           rms: Iterable[RmsReturn], known: set[str]) -> dict[str, Any]:
    """Totals per day and currency (RMS mirror, what we posted, what the ledger holds) and per account."""
    by_day: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: {"rms": ZERO, "local": ZERO,
                                                                             "ledger": ZERO})
    by_currency: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"rms": ZERO, "local": ZERO, "ledger": ZERO})
    by_account: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for exp in exps:
        if exp.total is None or exp.currency is None or exp.txn_date is None:
            continue
        by_day[(exp.txn_date.isoformat(), exp.currency)]["local"] += exp.total
        by_currency[exp.currency]["local"] += exp.total
    for d in docs:
        if not d.live or not d.our_key or d.total is None:
            continue
        cur = d.currency or "home"
        day = d.txn_date.isoformat() if d.txn_date else "unknown"
        by_day[(day, cur)]["ledger"] += d.total
        by_currency[cur]["ledger"] += d.total
        for account, amount in d.accounts:
            by_account[account] += amount
    for ret in rms:
        if ret.refund_total is None:
            continue
        by_currency[ret.currency]["rms"] += ret.refund_total
        if ret.day is not None:
            by_day[(ret.day.isoformat(), ret.currency)]["rms"] += ret.refund_total

    def fmt(row: dict[str, Decimal]) -> dict[str, str]:
        return {k: format(v, "f") for k, v in row.items()} | {"difference": format(row["ledger"] - row["local"], "f")}

    return {
        "by_day": [{"date": day, "currency": cur, **fmt(row)} for (day, cur), row in sorted(by_day.items())],
        "by_currency": {cur: fmt(row) for cur, row in sorted(by_currency.items())},
        "by_account": {acct: format(v, "f") for acct, v in sorted(by_account.items())},
        "documents": {"expected": len(exps), "ledger": len(docs),
                      "ours_in_ledger": sum(1 for d in docs if d.our_key), "looked_up": len(lookups),
                      "unknown_keys": sum(1 for d in docs if d.our_key and d.our_key not in known)},
    }
