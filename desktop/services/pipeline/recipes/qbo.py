"""QuickBooks Online: the facts the neutral journal asks for, and the renderer (DESIGN.md §5).

Rendering only translates a :class:`~.journal.ReturnJournal` into QBO payloads:

- Refund to the original payment → ``RefundReceipt`` (``DepositToAccountRef`` = the mapped
  refund account). Store credit → ``CreditMemo``. **Exchange → ``CreditMemo``** too: the customer
  is owed the returned goods' value, which the replacement's invoice then consumes (applying the
  credit); a RefundReceipt would record cash that never left the bank. **A dearer exchange** (the
  customer pays the difference) → ``SalesReceipt``: the same lines with every amount negated
  (replacement goods positive, returned goods negative), total the difference,
  ``DepositToAccountRef`` the mapped refund account (the money comes in). UNCONFIRMED: that
  QuickBooks takes negative lines on a sales receipt whose total is positive (the schema allows any
  ``Amount``; the emulator accepts it, as QuickBooks' own screens do).
- Lines go through Items (``SalesItemLineDetail.ItemRef``): the mapped item, else an active
  item whose income account is the mapped account, else a placeholder the poster fills after
  creating "RLS · <account>" on demand.
- Tax (``qbo_tax.py``): US companies (AST) mark lines ``TAX``/``NON`` and name the combined code in
  ``TxnTaxDetail.TxnTaxCodeRef``; other countries carry a ``TaxCodeRef`` per line with
  ``GlobalTaxCalculation: TaxExcluded``. QBO computes the tax itself; the journal's tax rounding
  line (if any) becomes one non-taxable line so the total equals the RMS refund to the cent.
- Goods back in stock of a SKU the company tracks as inventory (``tracked.py``): the line's
  ``ItemRef`` is that Inventory item, with ``Qty`` and ``UnitPrice``; QuickBooks books the stock and
  its cost (and the line's revenue to the item's income account), so no goods journal line.
- Fee, label and goods journals → ``JournalEntry`` (A/R lines name the customer as ``Entity``).
- Foreign currency: ``CurrencyRef`` + ``ExchangeRate`` (home per foreign) on every document.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core import keys
from desktop.services.core.exact_json import to_decimal_or_none
from desktop.services.core.money import Money, sum_money
from desktop.services.mapping.model import MappingTarget
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.documents import CUSTOMER, JournalLine, LedgerDocument, placeholder
from desktop.services.pipeline.fx import FxUse
from desktop.services.pipeline.recipes.arith import msum
from desktop.services.pipeline.recipes.base import LedgerRecipes, register
from desktop.services.pipeline.recipes.journal import ReturnRender
from desktop.services.pipeline.recipes.qbo_tax import code_rates, exempt_code, is_us, predict_tax
from desktop.services.pipeline.recipes.shapes import (
    Piece,
    RecipeContext,
    ReturnJournal,
    SalesLine,
    SideJournal,
    SummaryJournal,
    TaxPrediction,
)
from desktop.services.platforms.qbo.platform import QboProfile

__all__ = ["QboRecipes", "code_rates", "is_us"]

PLATFORM = QboProfile.key


def _ref(value: str) -> dict[str, str]:
    return {"value": value}


def _same(amount: Decimal) -> Decimal:
    return amount


def _flip(amount: Decimal) -> Decimal:
    return -amount + 0  # + 0: never a "-0.00" on the wire


#: (refund, charge) → the sales form's role, QBO entity and what it is, for people.
_FORMS: dict[tuple[bool, bool], tuple[str, str, str]] = {
    (True, False): ("refund_receipt", "RefundReceipt", "refund"),
    (False, False): ("credit_memo", "CreditMemo", "customer credit"),
    (False, True): ("sales_receipt", "SalesReceipt", "exchange difference charged"),
}


class QboRecipes(LedgerRecipes):
    profile = QboProfile()
    tracked_income_from_item = True

    def untaxed_code(self, ctx: RecipeContext, piece: Piece | None) -> str | None:
        return exempt_code(ctx, piece)

    def predict_tax(self, ctx: RecipeContext, lines: list[SalesLine]) -> TaxPrediction:
        return predict_tax(ctx, lines)

    def item_cost(self, snap: ReferenceSnapshot, sku: str, currency: str) -> Money | None:
        """An active Item whose ``Sku`` (else name) is ``sku``: its average cost (``AvgCost``, inventory
        items) or ``PurchaseCost`` — both "expressed in the home currency" (``Finance.xsd``), so only
        for a home-currency return."""
        if currency != snap.home_currency:
            return None
        for it in snap.items.values():
            raw = it.raw or {}
            if it.active and (raw.get("Sku") or it.name) == sku:
                cost = to_decimal_or_none(raw.get("AvgCost")) or to_decimal_or_none(raw.get("PurchaseCost"))
                if cost is not None and cost > 0:
                    return Money(cost, currency)
        return None

    def vendor_credit_payload(self, body: dict[str, Any], fx: FxUse | None) -> dict[str, Any]:
        """``ExchangeRate`` (home per foreign unit) beside the profile's ``CurrencyRef``."""
        return {**body, "ExchangeRate": fx.rate} if fx is not None else body

    def negative_total_refusal(self, refund: bool) -> str:
        return f"QuickBooks refuses a negative {'RefundReceipt' if refund else 'CreditMemo'}"

    def render(self, journal: ReturnJournal) -> list[LedgerDocument]:
        r = _Render(journal)
        docs = [r.sales_form()]
        docs.extend(r.journal_entry(j) for j in journal.journals)
        return docs

    def render_summary(self, s: SummaryJournal) -> LedgerDocument:
        payload: dict[str, Any] = {
            "TxnDate": s.post_day.isoformat(), "DocNumber": f"RLS-{s.day:%Y%m%d}-{s.currency}", "PrivateNote": s.text,
            "Line": [{"DetailType": "JournalEntryLineDetail", "Amount": jl.amount.amount, "Description": jl.memo,
                      "JournalEntryLineDetail": {"PostingType": "Debit" if jl.debit else "Credit",
                                                 "AccountRef": _ref(jl.account_id or "${unmapped}")}}
                     for jl in s.journal]}
        if s.home_currency != s.currency:
            payload["CurrencyRef"] = _ref(s.currency)
            if s.fx is not None:
                payload["ExchangeRate"] = s.fx.rate
        total = sum_money((jl.debit for jl in s.journal if jl.debit is not None), s.currency)
        return LedgerDocument(
            role="summary_journal", platform=s.platform or PLATFORM, doc_type="JournalEntry", idempotency_key=s.key,
            txn_date=s.post_day, currency=s.currency, total=total, payload=payload, journal=s.journal,
            source=(s.org, s.day.isoformat(), 0), mapping_version=s.mapping_version, home_currency=s.home_currency,
            fx=s.fx, notes=(s.note,) if s.note else (), refund_effect=s.refund, extra={"returns": list(s.returns)})

    def render_adjustment(self, journal: tuple[JournalLine, ...], text: str, day: date, currency: str,
                          home_currency: str) -> tuple[str, dict[str, Any]]:
        """A ``JournalEntry`` in the document's currency (``CurrencyRef`` when not the home currency)."""
        payload: dict[str, Any] = {"TxnDate": day.isoformat(), "PrivateNote": text, "Line": [
            {"DetailType": "JournalEntryLineDetail", "Amount": jl.amount.amount, "Description": jl.memo,
             "JournalEntryLineDetail": {"PostingType": "Debit" if jl.debit else "Credit",
                                        "AccountRef": _ref(jl.account_id)}} for jl in journal]}
        if currency != home_currency:
            payload["CurrencyRef"] = _ref(currency)
        return "JournalEntry", payload


register(QboRecipes())


class _Render(ReturnRender):
    """One return's QBO payloads."""

    platform = PLATFORM

    def __init__(self, journal: ReturnJournal) -> None:
        super().__init__(journal)
        self.customer_ref = _ref(journal.customer.remote_id if journal.customer else placeholder(CUSTOMER))
        self._items: dict[str, str] | None = None

    def item_for(self, target: MappingTarget | None) -> str:
        if target is None:
            return placeholder("unmapped")
        if target.item_id:
            return target.item_id
        if self._items is None:
            self._items = {}
            for it in sorted(self.c.snap.items.values(), key=lambda i: (i.type != "Service", i.name)):
                if it.active and it.parent_id:
                    self._items.setdefault(it.parent_id, it.remote_id)
        acct = target.account_id or ""
        return self._items.get(acct) or placeholder(f"item-for-account:{acct}")

    def header(self, role: str, what: str) -> tuple[str, dict[str, Any]]:
        ret = self.ret
        key = self.key(role)
        body: dict[str, Any] = {"TxnDate": self.j.day.isoformat(),
                                "DocNumber": keys.doc_number(ret.rma_number, ret.revision, role, ret.posting_round),
                                "PrivateNote": self.memo(key, what)}
        if ret.currency != self.c.snap.home_currency:
            body["CurrencyRef"] = _ref(ret.currency)
            if self.j.fx is not None:
                body["ExchangeRate"] = self.j.fx.rate
        return key, body

    def sales_form(self) -> LedgerDocument:
        form = self.j.form
        us = is_us(self.c.snap, self.c.settings)
        role, doc_type, what = _FORMS[(form.refund, form.charge)]
        key, body = self.header(role, what)
        body = {"CustomerRef": dict(self.customer_ref), **body}
        flip = _flip if form.charge else _same  # a charge posts the form negated (module docstring)
        lines: list[dict[str, Any]] = []
        for sl in form.lines:
            p = sl.piece
            # a line going back into a tracked Inventory item carries that item (tracked.py): QuickBooks
            # raises its QtyOnHand and books Dr asset, Cr COGS at its cost (Qty × UnitPrice is exact)
            detail: dict[str, Any] = {"ItemRef": _ref(p.stock.item_id if p.stock else self.item_for(p.target))}
            # QBO checks Amount = Qty × UnitPrice: send them only when exact
            if p.unit_price.amount * p.quantity == p.net.amount:
                detail["Qty"] = p.quantity
                detail["UnitPrice"] = flip(p.unit_price.amount)
            line_code = ("TAX" if p.taxes else "NON") if us else sl.tax_code
            if line_code:
                detail["TaxCodeRef"] = _ref(line_code)
            for tr in (p.target.tracking if p.target else ()):
                if tr.category_id == "class":
                    detail["ClassRef"] = _ref(tr.option_id)
                elif tr.category_id == "department":
                    body["DepartmentRef"] = _ref(tr.option_id)
            lines.append({"DetailType": "SalesItemLineDetail", "Amount": flip(p.net.amount),
                          "Description": p.description, "SalesItemLineDetail": detail})
        if form.tax.doc_code:
            body["TxnTaxDetail"] = {"TxnTaxCodeRef": _ref(form.tax.doc_code)}
        if not us:
            body["GlobalTaxCalculation"] = "TaxExcluded"
        if form.rounding:
            detail = {"ItemRef": _ref(self.item_for(form.rounding_target))}
            if form.rounding_code:
                detail["TaxCodeRef"] = _ref(form.rounding_code)
            lines.append({"DetailType": "SalesItemLineDetail", "Amount": flip(form.rounding),
                          "Description": "Tax rounding (RMS rounds per line, QuickBooks per rate)",
                          "SalesItemLineDetail": detail})
        if form.settled_on_form:
            body["DepositToAccountRef"] = _ref(form.settle_account or placeholder("unmapped"))
        body["Line"] = lines
        total = -form.total if form.charge else form.total
        return self.document(role, doc_type, key, body, total, form.journal, refund_effect=form.total,
                             extra={"tax_codes": form.codes, **form.tax.extra})

    def journal_entry(self, side: SideJournal) -> LedgerDocument:
        key, body = self.header(side.role, side.what)
        lines = []
        for i, jl in enumerate(side.lines):
            detail: dict[str, Any] = {"PostingType": "Debit" if jl.debit is not None else "Credit",
                                      "AccountRef": _ref(jl.account_id or placeholder("unmapped"))}
            if i in side.customer_lines:
                detail["Entity"] = {"Type": "Customer", "EntityRef": dict(self.customer_ref)}
            lines.append({"DetailType": "JournalEntryLineDetail", "Amount": jl.amount.amount,
                          "Description": jl.memo, "JournalEntryLineDetail": detail})
        body["Line"] = lines
        total = msum((jl.debit for jl in side.lines if jl.debit is not None), self.ret.currency)
        return self.document(side.role, "JournalEntry", key, body, total, side.lines,
                             refund_effect=side.refund_effect)
