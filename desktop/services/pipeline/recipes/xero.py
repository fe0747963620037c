"""Xero: the facts the neutral journal asks for, and the renderer (DESIGN.md §5).

Facts: each line's ``TaxAmount`` is pinned to the RMS's own figure (Xero lets a client override
line tax), so the ledger books the RMS's tax and no rounding line is ever needed (the base's
``predict_tax``); Accounts Receivable is a control account Xero keeps out of manual journals, so
withheld fees of a store-credit/exchange return stay negative lines; a refund is a ``Payment``
against the credit note; accounts are labelled "code name"; Xero publishes no exchange rates.

Rendering only translates a :class:`~.journal.ReturnJournal`:

- Every return (but a dearer exchange, below) → one ``CreditNote`` (``ACCRECCREDIT``,
  ``AUTHORISED``, ``LineAmountTypes`` ``Exclusive``), ``Reference`` carrying the idempotency key.
- Refund to the original payment → plus a ``Payment`` of the credit note's total from the mapped
  bank account; it ``depends_on`` the credit note and references it by a placeholder the poster
  fills with the CreditNoteID. Store credit and exchange → the credit note alone, unallocated
  (the replacement's invoice consumes it).
- **A dearer exchange** (the customer pays the difference) → an ``ACCREC`` ``Invoice``
  (``AUTHORISED``, ``DueDate`` its date) with the credit note's lines negated — replacement goods
  positive, returned goods negative, tax pinned the same way — whose total is the difference, plus
  a ``Payment`` of it into the mapped bank account (``depends_on`` the invoice). UNCONFIRMED: that
  Xero takes negative lines on an invoice whose total is positive (its own screens do; the
  reference does not say); the alternative — a credit note allocated to an invoice for the
  replacement — needs three documents and an allocation that cannot be undone by voiding.
- Goods back in stock of a SKU the organisation tracks (``tracked.py``): the credit note line carries
  the tracked item's ``ItemCode`` and ``Quantity`` beside its mapped account; Xero restocks the item
  at its average cost, so no goods journal line.
- Fee, label and goods journals → ``ManualJournal``. Manual journals have no currency in Xero — they are
  always in the base currency — so a foreign return's journal is converted with the recorded rate,
  each side allocated so it still balances (``convert_journal``).
- Foreign currency: ``CurrencyCode`` + ``CurrencyRate`` in Xero's convention (foreign units per
  base unit), the figure the ledger itself gave, not a re-inverted approximation.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from desktop.services.core.exact_json import to_decimal_or_none
from desktop.services.core.money import Money, minor_units, sum_money
from desktop.services.mapping.model import MappingTarget
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.documents import JournalLine, LedgerDocument, convert_journal, ref_placeholder
from desktop.services.pipeline.fx import FxUse
from desktop.services.pipeline.recipes.arith import msum
from desktop.services.pipeline.recipes.base import LedgerRecipes, register
from desktop.services.pipeline.recipes.journal import ReturnRender
from desktop.services.pipeline.recipes.shapes import (
    Piece,
    RecipeContext,
    ReturnJournal,
    SalesLine,
    SideJournal,
    SummaryJournal,
)
from desktop.services.platforms.xero.platform import XeroProfile

__all__ = ["XeroRecipes"]

PLATFORM = XeroProfile.key


def _journal_account(snap: ReferenceSnapshot, jl: JournalLine) -> dict[str, str]:
    rec = snap.accounts.get(jl.account_id)
    if rec is not None and rec.code:
        return {"AccountCode": rec.code}
    return {"AccountID": jl.account_id or "${unmapped}"}


def _manual_journal(snap: ReferenceSnapshot, narration: str, day: str, lines: tuple[JournalLine, ...]) -> (
        dict[str, Any]):
    return {"ManualJournals": [{"Narration": narration, "Date": day, "Status": "POSTED", "LineAmountTypes": "NoTax",
                                "JournalLines": [{"LineAmount": jl.signed.amount, **_journal_account(snap, jl),
                                                  "Description": jl.memo} for jl in lines]}]}


class XeroRecipes(LedgerRecipes):
    profile = XeroProfile()
    journals_may_post_receivable = False
    refund_by_payment = True

    def untaxed_code(self, ctx: RecipeContext, piece: Piece | None) -> str | None:
        return (piece.target.tax_code if piece is not None and piece.target else None) or "NONE"

    def item_cost(self, snap: ReferenceSnapshot, sku: str, currency: str) -> Money | None:
        """The Item whose ``Code`` is ``sku``: its ``PurchaseDetails.UnitPrice`` — taken to be in the base
        currency (UNCONFIRMED: Xero items carry no currency), so used only for a base-currency return."""
        if currency != snap.home_currency:
            return None
        for it in snap.items.values():
            if it.code == sku:
                cost = to_decimal_or_none(((it.raw or {}).get("PurchaseDetails") or {}).get("UnitPrice"))
                if cost is not None and cost > 0:
                    return Money(cost, currency)
        return None

    vendor_credit_tax_code = "NONE"  # "No GST" / "No VAT": Xero's untaxed tax type

    def vendor_credit_payload(self, body: dict[str, Any], fx: FxUse | None) -> dict[str, Any]:
        """Wrapped like every Xero document; ``CurrencyRate`` in Xero's convention beside ``CurrencyCode``."""
        if fx is not None and fx.ledger_rate is not None:
            body = {**body, "CurrencyRate": fx.ledger_rate}
        return {"CreditNotes": [body]}

    def negative_total_refusal(self, refund: bool) -> str:
        return "a Xero credit note cannot be negative"

    def render(self, journal: ReturnJournal) -> list[LedgerDocument]:
        r = _Render(journal)
        note = r.invoice() if journal.form.charge else r.credit_note()
        docs = [note]
        if journal.payout is not None:
            docs.append(r.payment(note))
        for side in journal.journals:
            if (doc := r.manual_journal(side)) is not None:
                docs.append(doc)
        return docs

    def render_summary(self, s: SummaryJournal) -> LedgerDocument | None:
        text = s.text
        if s.currency != s.home_currency:
            if s.fx is None:
                return None  # missing_fx_rate is already reported
            lines = convert_journal(s.journal, s.currency, s.fx)
            text += f" · {s.currency} at {s.fx.rate} {s.home_currency}"
        else:
            lines = s.journal
        total = sum_money((jl.debit for jl in lines if jl.debit is not None), s.home_currency)
        return LedgerDocument(
            role="summary_journal", platform=s.platform, doc_type="ManualJournal", idempotency_key=s.key,
            txn_date=s.post_day, currency=s.home_currency, total=total,
            payload=_manual_journal(s.snap, text, s.post_day.isoformat(), lines), journal=lines,
            source=(s.org, s.day.isoformat(), 0), mapping_version=s.mapping_version, home_currency=s.home_currency,
            fx=s.fx, notes=(s.note,) if s.note else (), refund_effect=s.refund, extra={"returns": list(s.returns)})

    def render_adjustment(self, journal: tuple[JournalLine, ...], text: str, day: date, currency: str,
                          home_currency: str) -> tuple[str, dict[str, Any]]:
        """A ``ManualJournal`` (no tax, signed line amounts, accounts by id)."""
        return "ManualJournal", {"ManualJournals": [{
            "Narration": text, "Date": day.isoformat(), "Status": "POSTED", "LineAmountTypes": "NoTax",
            "JournalLines": [{"LineAmount": jl.signed.amount, "AccountID": jl.account_id, "Description": jl.memo}
                             for jl in journal]}]}


register(XeroRecipes())


class _Render(ReturnRender):
    """One return's Xero payloads."""

    platform = PLATFORM

    def __init__(self, journal: ReturnJournal) -> None:
        super().__init__(journal)
        who = self.ret.customer
        cust = journal.customer
        self.contact: dict[str, str] = {"ContactID": cust.remote_id} if cust else {
            "Name": (who.name or who.email).strip()}

    def account_ref(self, target: MappingTarget | None) -> dict[str, str]:
        """``{"AccountCode": …}`` (what Xero line items use) or ``{"AccountID": …}`` without a code."""
        if target is None:
            return {"AccountCode": "${unmapped}"}
        code = target.account_code
        if not code and target.account_id and (rec := self.c.snap.accounts.get(target.account_id)):
            code = rec.code
        return {"AccountCode": code} if code else {"AccountID": target.account_id or "${unmapped}"}

    def line_item(self, sl: SalesLine, sign: int = 1) -> dict[str, Any]:
        """One line; ``sign`` −1 negates its amounts (a dearer exchange's invoice)."""
        p = sl.piece
        item: dict[str, Any] = {"Description": p.description, "Quantity": p.quantity}
        if p.stock is not None and p.stock.sku:  # tracked.py: Xero restocks the item at average cost
            item["ItemCode"] = p.stock.sku
        unit = p.unit_price.amount
        exponent = unit.as_tuple().exponent
        fits = isinstance(exponent, int) and -exponent <= min(2, minor_units(self.ret.currency))
        if fits and unit * p.quantity == p.net.amount:
            item["UnitAmount"] = unit * sign + 0  # + 0: never a "-0.00" on the wire
        else:  # Xero rounds UnitAmount to 2 places: give the exact line amount instead
            item["LineAmount"] = p.net.amount * sign + 0
        item.update(self.account_ref(p.target))
        item["TaxType"] = sl.tax_code or "${unmapped}"
        item["TaxAmount"] = p.tax.amount * sign + 0  # pinned: the ledger books the RMS's own line tax
        tracking = p.target.tracking if p.target else ()
        if tracking:  # more than 2 is a problem (check_piece); Xero takes the first 2
            item["Tracking"] = [{"TrackingCategoryID": t.category_id, "TrackingOptionID": t.option_id}
                                for t in tracking[:2]]
        return item

    def _sales_body(self, kind: str, key: str, what: str, sign: int) -> dict[str, Any]:
        form, cur = self.j.form, self.ret.currency
        body: dict[str, Any] = {"Type": kind, "Contact": dict(self.contact), "Date": self.j.day.isoformat(),
                                "Status": "AUTHORISED", "LineAmountTypes": "Exclusive", "CurrencyCode": cur,
                                "Reference": self.memo(key, what)}
        fx = self.j.fx
        if cur != self.c.snap.home_currency and fx is not None and fx.ledger_rate is not None:
            body["CurrencyRate"] = fx.ledger_rate
        body["LineItems"] = [self.line_item(sl, sign) for sl in form.lines]
        return body

    def credit_note(self) -> LedgerDocument:
        form = self.j.form
        key = self.key("credit_note")
        body = self._sales_body("ACCRECCREDIT", key, "return", 1)
        return self.document("credit_note", "CreditNote", key, {"CreditNotes": [body]}, form.total, form.journal,
                             refund_effect=form.total, extra={"tax_codes": form.codes})

    def invoice(self) -> LedgerDocument:
        """A dearer exchange: the customer is invoiced the difference (the credit note's lines negated)."""
        form = self.j.form
        key = self.key("invoice")
        body = self._sales_body("ACCREC", key, "exchange difference charged", -1)
        body = {**body, "DueDate": body["Date"]}  # paid at once: due the same day
        return self.document("invoice", "Invoice", key, {"Invoices": [body]}, -form.total, form.journal,
                             refund_effect=form.total, extra={"tax_codes": form.codes})

    def payment(self, paid: LedgerDocument) -> LedgerDocument:
        """A payment against ``paid`` (a credit note paid out, or an invoice paid in)."""
        payout = self.j.payout
        assert payout is not None
        key = self.key(payout.role)
        ref = self.account_ref(payout.target)
        body: dict[str, Any] = {paid.doc_type: {f"{paid.doc_type}ID": ref_placeholder(paid.idempotency_key)},
                                "Account": {"Code": v} if (v := ref.get("AccountCode")) else {
                                    "AccountID": ref["AccountID"]},
                                "Date": self.j.day.isoformat(), "Amount": payout.amount.amount,
                                "Reference": self.memo(key, payout.what)}
        if self.j.fx is not None and self.j.fx.ledger_rate is not None:
            body["CurrencyRate"] = self.j.fx.ledger_rate
        return self.document(payout.role, "Payment", key, {"Payments": [body]}, payout.amount, payout.journal,
                             refund_effect=None, depends_on=paid.idempotency_key)

    def manual_journal(self, side: SideJournal) -> LedgerDocument | None:
        """``side`` in the base currency (Xero manual journals have no currency of their own)."""
        assert not side.customer_lines, "Xero manual journals cannot post to Accounts Receivable"
        home, fx = self.c.snap.home_currency, self.j.fx
        key = self.key(side.role)
        narration = self.memo(key, side.what)
        if self.ret.currency != home:
            if fx is None:
                return None  # missing_fx_rate is already reported; a journal cannot be built without a rate
            lines = convert_journal(side.lines, self.ret.currency, fx)
            narration += f" · {self.ret.currency} at {fx.rate} {home}"
        else:
            lines = side.lines
        total = msum((jl.debit for jl in lines if jl.debit is not None), home)
        return self.document(side.role, "ManualJournal", key, _manual_journal(self.c.snap, narration,
                                                                              self.j.day.isoformat(), lines),
                             total, lines, refund_effect=side.refund_effect, currency=home)
