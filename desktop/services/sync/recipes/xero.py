"""Xero recipes, per-return mode (DESIGN.md §5).

- Every return → one ``CreditNote`` (``ACCRECCREDIT``, ``AUTHORISED``, ``LineAmountTypes``
  ``Exclusive``), ``Reference`` carrying the idempotency key. Each line's ``TaxAmount`` is pinned
  to the RMS's own figure (Xero lets a client override line tax), so the credit note's total is
  the RMS refund to the cent with no rounding line.
- Refund to the original payment → plus a ``Payment`` of the credit note's total from the mapped
  bank account; it ``depends_on`` the credit note and references it by a placeholder the poster
  fills with the CreditNoteID. Store credit and exchange → the credit note alone, unallocated
  (the replacement's invoice consumes it).
- Fees withheld: a negative line item (``negative_line``) or a ``ManualJournal`` beside the note
  (Dr the refund bank account, Cr fee income). Store credit and exchange always use negative line
  items: the journal would have to debit Accounts Receivable, which Xero keeps out of manual
  journals (a control account).
  Label cost → a ``ManualJournal``. Manual journals have no currency in Xero — they are always in
  the base currency — so a foreign return's journal is converted with the recorded rate, each side
  allocated so it still balances (``convert_journal``).
- Foreign currency: ``CurrencyCode`` + ``CurrencyRate`` in Xero's convention (foreign units per
  base unit), the figure the ledger itself gave, not a re-inverted approximation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from desktop.services.domain import FEE_COMPONENTS, FEE_REFUND_SIGN, Component, OrgSettings, Problem, ReturnRecord
from desktop.services.mapping.model import COMPONENT_LABELS, MappingTarget
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.money import Money, minor_units
from desktop.services.store.models.enums import RefundMethod
from desktop.services.sync import keys
from desktop.services.sync.documents import JournalLine, LedgerDocument, convert_journal, line, ref_placeholder
from desktop.services.sync.fx import FxRates, FxUse
from desktop.services.sync.recipes.common import ZERO, Ctx, Piece, dsum, msum, resolve_customer

PLATFORM = "xero"


class _Xero:
    def __init__(self, ctx: Ctx) -> None:
        self.c = ctx
        self.ret = ctx.ret
        self.day, self.note = ctx.posting_date()
        self.fx: FxUse | None = ctx.fx(self.ret.currency, self.day)
        cust = resolve_customer(self.ret.customer, ctx.snap, self.ret.currency)
        who = self.ret.customer
        self.contact: dict[str, str] = {"ContactID": cust.remote_id} if cust else {
            "Name": (who.name or who.email).strip()}
        self.docs: list[LedgerDocument] = []

    def key(self, role: str) -> str:
        r = self.ret
        return keys.idempotency_key(r.org_code, r.rms_id, r.revision, role)

    def memo(self, key: str, what: str) -> str:
        text = keys.memo_text(key, self.ret.rma_number, self.ret.revision, what)
        return f"{text} · {self.note}" if self.note else text

    def acct(self, target: MappingTarget | None) -> tuple[str, str]:
        return self.c.account(target) if target is not None else ("", "unmapped")

    def account_ref(self, target: MappingTarget | None) -> dict[str, str]:
        """``{"AccountCode": …}`` (what Xero line items use) or ``{"AccountID": …}`` without a code."""
        if target is None:
            return {"AccountCode": "${unmapped}"}
        code = target.account_code
        if not code and target.account_id and (rec := self.c.snap.accounts.get(target.account_id)):
            code = rec.code
        return {"AccountCode": code} if code else {"AccountID": target.account_id or "${unmapped}"}

    def document(self, role: str, doc_type: str, key: str, payload: dict[str, Any], total: Money,
                 journal: list[JournalLine] | tuple[JournalLine, ...], *, refund_effect: Money | None,
                 depends_on: str | None = None, currency: str | None = None,
                 extra: dict[str, Any] | None = None) -> LedgerDocument:
        r = self.ret
        return LedgerDocument(
            role=role, platform=PLATFORM, doc_type=doc_type, idempotency_key=key, txn_date=self.day,
            currency=currency or r.currency, total=total, payload=payload, journal=tuple(journal),
            source=(r.org_code, r.rms_id, r.revision), mapping_version=self.c.resolver.version,
            home_currency=self.c.snap.home_currency, fx=self.fx, depends_on=depends_on,
            notes=(self.note,) if self.note else (), refund_effect=refund_effect, extra=extra or {})

    # --- credit note and payment ---------------------------------------------------------------

    def line_item(self, p: Piece) -> dict[str, Any]:
        cur = self.ret.currency
        item: dict[str, Any] = {"Description": p.description, "Quantity": p.quantity}
        unit = p.unit_price.amount
        exponent = unit.as_tuple().exponent
        fits = isinstance(exponent, int) and -exponent <= min(2, minor_units(cur))
        if fits and unit * p.quantity == p.net.amount:
            item["UnitAmount"] = unit
        else:  # Xero rounds UnitAmount to 2 places: give the exact line amount instead
            item["LineAmount"] = p.net.amount
        item.update(self.account_ref(p.target))
        if p.taxes:
            code = p.tax_target.tax_code if p.tax_target else None
        else:
            code = (p.target.tax_code if p.target else None) or "NONE"
        item["TaxType"] = code or "${unmapped}"
        item["TaxAmount"] = p.tax.amount
        tracking = p.target.tracking if p.target else ()
        if len(tracking) > 2:
            self.c.problem("too_many_tracking_categories",
                           f"The mapping for {COMPONENT_LABELS[p.component]} assigns {len(tracking)} tracking "
                           "categories; Xero allows 2 per line: an admin must remove the extra ones on the Mappings "
                           "page.", p.field)
        if tracking:
            item["Tracking"] = [{"TrackingCategoryID": t.category_id, "TrackingOptionID": t.option_id}
                                for t in tracking[:2]]
        return item

    def credit_note(self, pieces: list[Piece]) -> LedgerDocument:
        c, ret = self.c, self.ret
        cur = ret.currency
        key = self.key("credit_note")
        body: dict[str, Any] = {"Type": "ACCRECCREDIT", "Contact": dict(self.contact), "Date": self.day.isoformat(),
                                "Status": "AUTHORISED", "LineAmountTypes": "Exclusive", "CurrencyCode": cur,
                                "Reference": self.memo(key, "return")}
        if cur != c.snap.home_currency and self.fx is not None and self.fx.ledger_rate is not None:
            body["CurrencyRate"] = self.fx.ledger_rate
        journal: list[JournalLine] = []
        tax_by_j: dict[str, Decimal] = {}
        codes: dict[str, str] = {}
        fallback_tax = None
        for p in pieces:
            aid, aname = self.acct(p.target)
            journal.append(line(aid, aname, p.net, p.description, debit=True, component=p.component))
            for t in p.taxes:
                tax_by_j[t.jurisdiction] = tax_by_j.get(t.jurisdiction, ZERO) + t.amount.amount
            if p.tax_target is not None:
                fallback_tax = fallback_tax or p.tax_target
                if p.juris_key and p.tax_target.tax_code:
                    codes[p.juris_key] = p.tax_target.tax_code
        body["LineItems"] = [self.line_item(p) for p in pieces]
        for j, amount in tax_by_j.items():
            if amount:
                aid, aname = c.tax_account(j, fallback_tax)
                journal.append(line(aid, aname, Money(amount, cur), f"tax {j}", debit=True, component=Component.TAX))
        total = Money(dsum(p.net.amount for p in pieces) + dsum(p.tax.amount for p in pieces), cur)
        if total.amount < 0:
            c.problem("negative_total",
                      f"Fees withheld exceed what return {ret.rma_number} refunds ({total}); a Xero credit note "
                      "cannot be negative: switch this organization's fee treatment to a separate journal on the "
                      "Settings page, or correct the fees in the RMS.", "fees")
        rid, rname, _ = c.receivable()
        journal.append(line(rid, rname, total, "customer credit", debit=False))
        doc = self.document("credit_note", "CreditNote", key, {"CreditNotes": [body]}, total, journal,
                            refund_effect=total, extra={"tax_codes": codes})
        self.docs.append(doc)
        return doc

    def payment(self, note: LedgerDocument) -> None:
        c = self.c
        if note.total.amount <= 0:
            return
        target = c.refund_target()
        key = self.key("refund_payment")
        body: dict[str, Any] = {"CreditNote": {"CreditNoteID": ref_placeholder(note.idempotency_key)},
                                "Account": {"Code": v} if (v := self.account_ref(target).get("AccountCode")) else {
                                    "AccountID": self.account_ref(target)["AccountID"]},
                                "Date": self.day.isoformat(), "Amount": note.total.amount,
                                "Reference": self.memo(key, "refund")}
        if self.fx is not None and self.fx.ledger_rate is not None:
            body["CurrencyRate"] = self.fx.ledger_rate
        rid, rname, _ = c.receivable()
        bid, bname = self.acct(target)
        journal = [line(rid, rname, note.total, "customer credit refunded", debit=True),
                   line(bid, bname, note.total, "refund paid", debit=False, component=Component.REFUND)]
        self.docs.append(self.document("refund_payment", "Payment", key, {"Payments": [body]}, note.total, journal,
                                       refund_effect=None, depends_on=note.idempotency_key))

    # --- manual journals (always in the base currency) ------------------------------------------

    def manual_journal(self, role: str, what: str, journal: list[JournalLine], refund_effect: Money | None) -> None:
        c = self.c
        home = c.snap.home_currency
        if self.ret.currency != home:
            if self.fx is None:
                return  # missing_fx_rate is already reported; a journal cannot be built without a rate
            lines = convert_journal(journal, self.ret.currency, self.fx)
        else:
            lines = tuple(journal)
        key = self.key(role)
        narration = self.memo(key, what)
        if self.ret.currency != home and self.fx is not None:
            narration += f" · {self.ret.currency} at {self.fx.rate} {home}"
        body = {"Narration": narration, "Date": self.day.isoformat(), "Status": "POSTED", "LineAmountTypes": "NoTax",
                "JournalLines": [{"LineAmount": jl.signed.amount, **self._code(jl), "Description": jl.memo}
                                 for jl in lines]}
        total = msum((jl.debit for jl in lines if jl.debit is not None), home)
        self.docs.append(self.document(role, "ManualJournal", key, {"ManualJournals": [body]}, total, lines,
                                       refund_effect=refund_effect, currency=home))

    def _code(self, jl: JournalLine) -> dict[str, str]:
        rec = self.c.snap.accounts.get(jl.account_id)
        if rec is not None and rec.code:
            return {"AccountCode": rec.code}
        return {"AccountID": jl.account_id or "${unmapped}"}

    def fee_journal(self, indexes: list[int]) -> None:
        c, ret = self.c, self.ret
        credits: list[JournalLine] = []
        gross_d = ZERO
        for i in indexes:
            fee = ret.fees[i]
            comp = FEE_COMPONENTS[fee.type]
            aid, aname = self.acct(c.fee_target(i))
            credits.append(line(aid, aname, fee.amount, f"{COMPONENT_LABELS[comp]} withheld", debit=False,
                                component=comp))
            for tax in fee.taxes:
                if not tax.amount.is_zero():
                    tid, tname = c.tax_account(tax.jurisdiction, c.tax_target(fee.taxes, f"fees[{i}].taxes"))
                    credits.append(line(tid, tname, tax.amount, f"tax {tax.jurisdiction} on fee", debit=False,
                                        component=Component.TAX))
            gross_d += fee.amount.amount + dsum(t.amount.amount for t in fee.taxes)
        if not gross_d:
            return
        gross = Money(gross_d, ret.currency)
        did, dname = self.acct(c.refund_target())  # only for refunds to the original payment (see above)
        self.manual_journal("fee_journal", "fees withheld",
                            [line(did, dname, gross, "fees withheld from the refund", debit=True,
                                  component=Component.REFUND), *credits], -gross)

    def label_journal(self, indexes: list[int]) -> None:
        c, ret = self.c, self.ret
        debits: list[JournalLine] = []
        gross_d = ZERO
        for i in indexes:
            fee = ret.fees[i]
            aid, aname = self.acct(c.fee_target(i))
            debits.append(line(aid, aname, fee.amount, "return label cost", debit=True, component=Component.LABEL_COST))
            for tax in fee.taxes:
                if not tax.amount.is_zero():
                    tid, tname = c.tax_account(tax.jurisdiction, c.tax_target(fee.taxes, f"fees[{i}].taxes"))
                    debits.append(line(tid, tname, tax.amount, f"tax {tax.jurisdiction} on label", debit=True,
                                       component=Component.TAX))
            gross_d += fee.amount.amount + dsum(t.amount.amount for t in fee.taxes)
        if not gross_d:
            return
        gross = Money(gross_d, ret.currency)
        cid, cname = self.acct(c.clearing_target())
        self.manual_journal("label_journal", "return label cost",
                            [*debits, line(cid, cname, gross, "label cost payable", debit=False,
                                           component=Component.CLEARING)], None)


def xero_documents(ret: ReturnRecord, resolver: Resolver, snap: ReferenceSnapshot, settings: OrgSettings,
                   rates: FxRates | None, *, tz: str | None = None) -> tuple[list[LedgerDocument], list[Problem]]:
    """The Xero documents one return revision produces, and the problems found building them."""
    ctx = Ctx(ret, resolver, snap, settings, rates, tz or str(settings.extra.get("timezone") or "UTC"))
    x = _Xero(ctx)
    # Customer credit stays on the credit note: Xero refuses manual journals to the Accounts
    # Receivable control account, so withheld fees of a store-credit/exchange return are lines.
    as_lines = ctx.fees_as_lines() or ret.refund_method is not RefundMethod.ORIGINAL_PAYMENT
    pieces, left = ctx.pieces(fees_as_lines=as_lines)
    note = x.credit_note(pieces)
    if ret.refund_method is RefundMethod.ORIGINAL_PAYMENT:
        x.payment(note)
    withheld = [i for i in left if FEE_REFUND_SIGN[ret.fees[i].type] < 0]
    labels = [i for i in left if FEE_REFUND_SIGN[ret.fees[i].type] == 0]
    if withheld:
        x.fee_journal(withheld)
    if labels:
        x.label_journal(labels)
    return x.docs, ctx.problems
