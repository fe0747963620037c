"""Pre-flight: the checks a document passes before anything posts (DESIGN.md §3).

Each failure is one :class:`Problem` with a stable ``code`` and a message that says who must do
what, where; the engine quarantines the return's documents and counts it as a manual-entry
error prevented. Pure and cheap — it runs for every return, thousands a second.

Stable codes: ``unmapped_component`` (from the recipes), ``unknown_account``, ``inactive_account``,
``wrong_account_type``, ``missing_tax_code``, ``currency_not_enabled``, ``customer_unresolvable``,
``period_closed``, ``unbalanced``, ``total_mismatch``, ``fx_rate_is_one``, ``fx_rate_inverted``,
``missing_fx_rate``; and from the recipes ``tax_mismatch`` (the ledger's tax would differ from the
RMS's beyond rounding), ``unsupported_tax_mix`` (QBO US: one combined rate per document),
``negative_total``, ``too_many_tracking_categories``; pre-flight also says
``account_currency_mismatch`` (a refund account in another currency than the document) and
``payments_not_enabled`` (a store credit liability account that cannot take the payment moving the
credit to it); the recipes say ``cost_unknown`` (a returned line whose goods would post at cost,
but neither the RMS nor the ledger's item knows the cost: ``recipes/goods.py``), and for goods
returned to the vendor ``missing_vendor``, ``vendor_conflict`` and ``vendor_currency_mismatch``
(``recipes/vendor_credit.py``). A dearer
exchange's difference comes in through the refund account, which is checked like a refund's (bank
types, currency).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from desktop.services.core.domain import Component, OrgSettings, Problem, ReturnRecord, closed_period_fix
from desktop.services.core.money import Money
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.mapping.validate import ALLOWED_ACCOUNT_TYPES
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import LOOKS_INVERTED, RATE_IS_ONE, FxRates
from desktop.services.pipeline.recipes.common import msum, refund_amount, resolve_customer
from desktop.services.platforms.registry import platform_for

__all__ = ["merge_problems", "preflight", "prepare", "resolve_customer"]

_COMPONENTS = {c.value: c for c in Component}


def _check_accounts(doc: LedgerDocument, snap: ReferenceSnapshot, out: list[Problem],
                    seen: set[tuple[str, str | None]]) -> None:
    ledger = snap.ledger_name
    allowed = ALLOWED_ACCOUNT_TYPES.get(snap.platform or doc.platform, {})
    for jl in doc.journal:
        aid = jl.account_id
        if (aid, jl.component) in seen:
            continue
        seen.add((aid, jl.component))
        rec = snap.accounts.get(aid) or (snap.account_by_code(aid) if aid else None)
        if rec is None:
            if aid and (aid, "unknown") not in seen:
                seen.add((aid, "unknown"))  # "" means unmapped: the recipe already said so
                out.append(Problem("unknown_account",
                                   f"Account {aid} ({jl.account_name}) used for {jl.memo or doc.role} is not in "
                                   f"{ledger}'s chart of accounts: refresh reference data on the Connections page; "
                                   "if it is still missing, an admin must map an existing account (Mappings page).",
                                   f"{doc.role}.journal"))
            continue
        if not rec.active:
            if (aid, "inactive") in seen:
                continue
            seen.add((aid, "inactive"))
            out.append(Problem("inactive_account",
                               f"Account '{rec.name}' ({jl.memo or doc.role}) is archived/inactive in {ledger}: an "
                               "accountant must reactivate it there, or an admin must map an active account on the "
                               "Mappings page.", f"{doc.role}.journal"))
            continue
        comp = _COMPONENTS.get(jl.component or "")
        types = allowed.get(comp) if comp is not None else None
        profile = platform_for(doc.platform)
        if comp is Component.REFUND and doc.doc_type in profile.bank_doc_types:
            flag = profile.payments_flag
            types = (*profile.refund_bank_types, *((rec.type,) if flag and (rec.raw or {}).get(flag) else ()))
            usable = {None, doc.currency} | ({snap.home_currency} if profile.home_currency_bank_ok else set())
            if rec.currency not in usable:
                out.append(Problem("account_currency_mismatch",
                                   f"The refund account '{rec.name}' is in {rec.currency}, but this {doc.doc_type} is "
                                   f"in {doc.currency}: an admin must map a {doc.currency} bank account for refunds in "
                                   f"{doc.currency} (a Refund paid rule with currency {doc.currency}) on the Mappings "
                                   "page.", f"{doc.role}.journal"))
        if comp is Component.STORE_CREDIT and doc.doc_type == profile.payment_doc_type and (
                flag := profile.payments_flag) and not (rec.raw or {}).get(flag):
            out.append(Problem("payments_not_enabled",
                               f"The store credit liability account '{rec.name}' does not accept payments in "
                               f"{ledger}: an accountant must tick 'Enable payments to this account' on it there, "
                               "then refresh reference data on the Connections page.", f"{doc.role}.journal"))
        if comp is not None and types and rec.type not in types:
            out.append(Problem("wrong_account_type",
                               f"Account '{rec.name}' is a {rec.type} account, but {comp.value.replace('_', ' ')} "
                               f"needs one of: {', '.join(types)}: an admin must map a suitable account on the "
                               "Mappings page.", f"{doc.role}.journal"))


def _check_tax_codes(doc: LedgerDocument, snap: ReferenceSnapshot, out: list[Problem]) -> None:
    codes = doc.extra.get("tax_codes") or {}
    for juris, code in codes.items():
        rec = snap.tax_codes.get(code) or snap.find_tax_code(code)
        if rec is None or not rec.active:
            state = "does not exist" if rec is None else "is inactive"
            out.append(Problem("missing_tax_code",
                               f"Tax code {code} mapped for tax jurisdiction {juris} {state} in {snap.ledger_name}: "
                               f"an admin must map an active tax code for {juris} on the Mappings page.",
                               f"{doc.role}.tax"))


def preflight(documents: Sequence[LedgerDocument], ret: ReturnRecord, snapshot: ReferenceSnapshot,
              settings: OrgSettings, today: date) -> list[Problem]:
    """Every reason ``documents`` (built from ``ret``) must not post yet; empty means go."""
    out: list[Problem] = []
    snap = snapshot
    ledger = snap.ledger_name
    cust = ret.customer
    if not (cust.name or "").strip() and not (cust.email or "").strip():
        out.append(Problem("customer_unresolvable",
                           f"Return {ret.rma_number} has neither a customer name nor an e-mail, so no "
                           f"{ledger} customer can be found or created: fix the customer in the RMS, then retry.",
                           "customer"))
    for cur in sorted({ret.currency, *(d.currency for d in documents)}):
        if cur not in snap.currencies:
            out.append(Problem("currency_not_enabled",
                               f"{cur} is not enabled in {ledger} for this organization: an accountant must add "
                               f"{cur} to the ledger's currencies, then refresh reference data on the Connections "
                               "page.", "currency"))
    seen_accounts: set[tuple[str, str | None]] = set()
    fx_flagged: set[str] = set()
    closed = snap.closed_through
    for doc in documents:
        _check_accounts(doc, snap, out, seen_accounts)
        _check_tax_codes(doc, snap, out)
        if closed is not None and doc.txn_date <= closed:
            out.append(Problem("period_closed",
                               f"{doc.doc_type} {doc.role.replace('_', ' ')} is dated {doc.txn_date.isoformat()}, but "
                               f"{ledger} is closed through {closed.isoformat()} (today is {today.isoformat()}): an "
                               f"accountant must reopen the period in the ledger, or an admin must "
                               f"{closed_period_fix(ret.org_code)} so such documents are dated on the first open "
                               "day.",
                               f"{doc.role}.date"))
        # the home-currency journal balances by construction when this one does (see convert_journal)
        if not doc.is_balanced():
            out.append(Problem("unbalanced",
                               f"{doc.doc_type} {doc.role.replace('_', ' ')} does not balance (debits "
                               f"{doc.debits()}, credits {doc.credits()}): a developer must check the recipe; "
                               "nothing was posted.", f"{doc.role}.journal"))
        if doc.currency != snap.home_currency and doc.fx is None:
            out.append(Problem("missing_fx_rate",
                               f"No {doc.currency}→{snap.home_currency} exchange rate is recorded for "
                               f"{doc.doc_type} {doc.role.replace('_', ' ')}: an accountant must enter the rate for "
                               f"{doc.txn_date.isoformat()} in {ledger}, then refresh reference data.",
                               f"{doc.role}.fx"))
        if doc.fx is not None and doc.fx.currency not in fx_flagged:
            fx_flagged.add(doc.fx.currency)
            if RATE_IS_ONE in doc.fx.flags:
                out.append(Problem("fx_rate_is_one",
                                   f"The {doc.fx.currency}→{doc.fx.home_currency} rate for {doc.fx.as_of.isoformat()} "
                                   f"is exactly 1, which is almost certainly a placeholder: an accountant must enter "
                                   f"the real rate in {ledger}, then refresh reference data and retry.", "fx"))
            if LOOKS_INVERTED in doc.fx.flags:
                out.append(Problem("fx_rate_inverted",
                                   f"The {doc.fx.currency}→{doc.fx.home_currency} rate {doc.fx.rate} for "
                                   f"{doc.fx.as_of.isoformat()} looks inverted against the previous known rate: an "
                                   f"accountant must check it in {ledger} ({doc.fx.home_currency} per 1 "
                                   f"{doc.fx.currency}), then refresh reference data and retry.", "fx"))
    if ret.currency != snap.home_currency and not any(d.fx for d in documents) and not any(
            p.code == "missing_fx_rate" for p in out):
        out.append(Problem("missing_fx_rate",
                           f"No {ret.currency}→{snap.home_currency} exchange rate is known for return "
                           f"{ret.rma_number}: an accountant must enter one in {ledger}, then refresh reference data.",
                           "fx"))
    _check_total(documents, ret, out)
    return out


def _check_total(documents: Sequence[LedgerDocument], ret: ReturnRecord, out: list[Problem]) -> None:
    computed = Money(refund_amount(ret), ret.currency)
    posted = msum((d.refund_effect for d in documents if d.refund_effect is not None), ret.currency)
    if documents and posted != computed:
        out.append(Problem("total_mismatch",
                           f"The documents refund {posted} but return {ret.rma_number} refunds {computed}: a "
                           "developer must check the recipe; nothing was posted.", "refund_total"))
    if ret.refund_total is not None and ret.refund_total != computed:
        out.append(Problem("total_mismatch",
                           f"The RMS states a refund of {ret.refund_total} for {ret.rma_number}, but its lines, tax "
                           f"and fees add up to {computed}: someone must correct the return in the RMS (the sync "
                           "posts what the lines say only once both agree).", "refund_total"))


def merge_problems(first: Sequence[Problem], second: Sequence[Problem]) -> list[Problem]:
    """``first`` then the problems of ``second`` not already said: one message per fault.

    A missing rate is reported by the recipe (which needed it) and by pre-flight (which checks
    every document); one ``missing_fx_rate`` per currency is enough.
    """
    out = list(first)
    said = {(p.code, p.message) for p in out}
    fx_said = any(p.code == "missing_fx_rate" for p in out)
    for p in second:
        if (p.code, p.message) in said or (p.code == "missing_fx_rate" and fx_said):
            continue
        said.add((p.code, p.message))
        fx_said = fx_said or p.code == "missing_fx_rate"
        out.append(p)
    return out


def prepare(ret: ReturnRecord, resolver: Resolver, snapshot: ReferenceSnapshot, settings: OrgSettings,
            rates: FxRates | None, today: date, *, tz: str | None = None,
            ) -> tuple[list[LedgerDocument], list[Problem]]:
    """Recipes then pre-flight for one return: its documents and every reason they must wait.

    An empty problem list means the documents may go to the outbox; otherwise the return is
    quarantined with these problems.
    """
    from desktop.services.pipeline.recipes import build_documents
    docs, problems = build_documents(ret, resolver, snapshot, settings, rates, tz=tz)
    return docs, merge_problems(problems, preflight(docs, ret, snapshot, settings, today))
