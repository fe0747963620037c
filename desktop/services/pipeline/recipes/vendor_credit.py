"""Goods returned to the vendor: one vendor credit per return against the mapped supplier (issue 16).

The rule, written once for every platform (the platform profile only shapes the payload,
:meth:`~desktop.services.platforms.interface.PlatformProfile.vendor_credit`):

- the organization's ``goods_posting`` setting is ``journal`` and its ``return_to_vendor`` setting
  ``vendor_credit`` (both off by default: nothing posts), and a line's disposition is
  ``RETURN_TO_VENDOR`` (:func:`~desktop.services.core.domain.to_vendor`);
- the supplier comes from a **Supplier (goods returned to vendor)** mapping rule
  (``Component.RETURN_TO_VENDOR``; its target names a vendor), matched on reason code and disposition
  like the goods rules; no rule is the usual ``unmapped_component`` problem naming the rule — the app
  never guesses a supplier. Lines mapped to two different suppliers are a ``vendor_conflict``
  problem (one vendor credit per return);
- the cost is the goods journal's (:func:`~.goods.unit_cost`): the RMS's ``unit_cost``, else the
  ledger item's cost in the return's currency, else ``cost_unknown``;
- each line credits the goods at quantity × unit cost: through the ledger's **tracked item** for the
  SKU where the company tracks it (an item line with quantity, which lowers quantity on hand and
  credits the item's own inventory asset account), otherwise against the mapped **Inventory asset**
  account;
- the credit is the goods at cost, untaxed: on Xero its lines carry the ``NONE`` tax type where the
  organisation has it (else Xero would add the item's default purchase tax); any input tax the
  supplier's own credit note reverses is the accountant's to match (not posted by the app);
- the document is in the return's currency (QBO ``CurrencyRef`` + ``ExchangeRate``; Xero
  ``CurrencyCode`` + ``CurrencyRate``); a QuickBooks vendor trades in one currency, so a vendor whose
  currency differs from the return's is a ``vendor_currency_mismatch`` problem;
- its journal, for the preview, pre-flight and reconciliation: Dr Accounts Payable (the supplier owes
  the goods back), Cr the inventory asset, per line.

Daily-summary organizations post no vendor credit (a summary nets accounts, not suppliers).
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.services.core import keys
from desktop.services.core.domain import Component, PostingMode, to_vendor
from desktop.services.core.money import Money
from desktop.services.mapping.reference import vendor_carries
from desktop.services.pipeline.documents import JournalLine, LedgerDocument, line
from desktop.services.pipeline.recipes.arith import line_net, msum
from desktop.services.pipeline.recipes.common import Ctx
from desktop.services.pipeline.recipes.goods import unit_cost
from desktop.services.pipeline.recipes.shapes import ReturnJournal
from desktop.services.pipeline.recipes.tracked import stock_for
from desktop.services.platforms.interface import VendorCreditDraft, VendorCreditLine

__all__ = ["ROLE", "VendorCredit", "vendor_credit", "vendor_credit_documents"]

ROLE = "vendor_credit"


@dataclass(frozen=True)
class VendorCredit:
    """The platform-neutral vendor credit of one return: supplier, lines and balanced journal."""

    vendor_id: str
    lines: tuple[VendorCreditLine, ...]
    journal: tuple[JournalLine, ...]
    total: Money


def _payable(ctx: Ctx) -> tuple[str, str]:
    """(id, label) of the Accounts Payable account the supplier's credit sits on."""
    for a in ctx.snap.accounts.values():
        if a.active and (a.type in ("Accounts Payable", "Accounts payable (A/P)")
                         or (a.raw or {}).get("SystemAccount") == "CREDITORS"):
            return a.remote_id, ctx.platform.account_label(a)
    return "", "Accounts Payable"


def vendor_credit(ctx: Ctx) -> VendorCredit | None:
    """The vendor credit of ``ctx.ret``; ``None`` when no line goes back to a vendor (or a problem
    stops it, recorded in ``ctx.problems``)."""
    ret = ctx.ret
    wanted = [(i, ln) for i, ln in enumerate(ret.lines) if to_vendor(ln, ctx.settings)]
    if not wanted or ctx.settings.posting_mode is PostingMode.DAILY_SUMMARY:
        return None
    tax = ctx.platform.vendor_credit_tax_code
    untaxed = tax if tax is not None and tax in ctx.snap.tax_codes else None
    vendors: set[str] = set()
    lines: list[VendorCreditLine] = []
    credits: list[JournalLine] = []
    for i, ln in wanted:
        f = f"lines[{i}]"
        codes = {"reason_code": ln.reason_code, "disposition": ln.disposition}
        who = ctx.target(ctx.context(Component.RETURN_TO_VENDOR, **codes), f)
        if who is not None and who.account_id:
            vendors.add(who.account_id)
        elif who is not None:
            ctx.problem("missing_vendor",
                        f"The Supplier (goods returned to vendor) rule for return {ret.rma_number}, line {i + 1} "
                        f"(SKU {ln.sku}) names no vendor: an admin must choose the {ctx.ledger} vendor on the rule "
                        "(on the Mappings page, drop Supplier (goods returned to vendor) onto a vendor under "
                        "Suppliers; or in a mapping file with `mapping import`), then retry this return.", f)
        found = unit_cost(ctx, i, ln)
        if found is None:
            continue
        cost, source = found
        amount = line_net(cost, ln.quantity)
        if amount.is_zero():
            continue
        memo = f"{ln.sku} × {ln.quantity} at {cost.amount} ({source}) returned to vendor"
        stock = stock_for(ctx, ln)  # the ledger's tracked item (one index per snapshot, tracked.py)
        if stock is not None and stock.asset_account:
            lines.append(VendorCreditLine(amount.amount, memo, item_id=stock.item_id, item_code=ln.sku,
                                          quantity=ln.quantity, unit_cost=cost.amount, tax_code=untaxed))
            aid, aname = _label(ctx, stock.asset_account)
        else:
            target = ctx.target(ctx.context(Component.INVENTORY_ASSET, **codes), f)
            aid, aname = ctx.acct(target)
            lines.append(VendorCreditLine(amount.amount, memo, account_id=aid or None, tax_code=untaxed))
        credits.append(line(aid, aname, amount, memo, debit=False, component=Component.INVENTORY_ASSET))
    if len(vendors) > 1:
        ctx.problem("vendor_conflict",
                    f"Return {ret.rma_number} sends goods back to {len(vendors)} different suppliers by the mapping "
                    "rules, but one return makes one vendor credit: an admin must make the Supplier (goods returned "
                    "to vendor) rules name one supplier for these lines, or the RMS must split the return.", "lines")
        return None
    if not credits or not vendors:
        return None
    vendor_id = next(iter(vendors))
    rec = ctx.snap.vendors.get(vendor_id)
    if rec is not None and not vendor_carries(ctx.platform.profile, rec, ret.currency):
        ctx.problem("vendor_currency_mismatch",
                    f"Return {ret.rma_number} is in {ret.currency}, but the mapped supplier '{rec.name}' trades in "
                    f"{rec.currency} in {ctx.ledger}, which keeps one currency per vendor: an admin must add a "
                    f"Supplier (goods returned to vendor) rule for currency {ret.currency} naming a {ret.currency} "
                    "vendor on the Mappings page.", "lines")
        return None
    total = msum((c.amount for c in credits), ret.currency)
    pid, pname = _payable(ctx)
    debit = line(pid, pname, total, "supplier credit for goods returned", debit=True)
    return VendorCredit(vendor_id, tuple(lines), (debit, *credits), total)


def _label(ctx: Ctx, account_id: str) -> tuple[str, str]:
    rec = ctx.snap.accounts.get(account_id)
    return (account_id, ctx.platform.account_label(rec)) if rec is not None else (account_id, f"account {account_id}")


def vendor_credit_documents(ctx: Ctx, journal: ReturnJournal) -> list[LedgerDocument]:
    """The return's vendor credit as a document of the outbox (none when nothing goes back)."""
    vc = vendor_credit(ctx)
    if vc is None:
        return []
    ret = ctx.ret
    key = keys.idempotency_key(ret.org_code, ret.rms_id, ret.revision, ROLE, ret.posting_round)
    draft = VendorCreditDraft(key, vc.vendor_id, journal.day, ret.currency, vc.lines,
                              number=keys.doc_number(ret.rma_number, ret.revision, ROLE, ret.posting_round),
                              memo=f"{ret.rma_number} r{ret.revision} · returned to vendor")
    profile = ctx.platform.profile
    foreign = ret.currency != ctx.snap.home_currency
    payload = ctx.platform.vendor_credit_payload(profile.vendor_credit(draft).body, journal.fx if foreign else None)
    return [LedgerDocument(
        role=ROLE, platform=profile.key, doc_type=profile.vendor_credit_doc_type, idempotency_key=key,
        txn_date=journal.day, currency=ret.currency, total=vc.total, payload=payload, journal=vc.journal,
        source=(ret.org_code, ret.rms_id, ret.revision), mapping_version=ctx.resolver.version,
        home_currency=ctx.snap.home_currency, fx=journal.fx, notes=(journal.note,) if journal.note else (),
        refund_effect=None, extra={"vendor_id": vc.vendor_id})]
