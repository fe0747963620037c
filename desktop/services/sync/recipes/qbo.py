"""QuickBooks Online recipes, per-return mode (DESIGN.md §5).

- Refund to the original payment → ``RefundReceipt`` (``DepositToAccountRef`` = the mapped
  refund account). Store credit → ``CreditMemo``. **Exchange → ``CreditMemo``** too: the customer
  is owed the returned goods' value, which the replacement's invoice then consumes (applying the
  credit); a RefundReceipt would record cash that never left the bank.
- Lines go through Items (``SalesItemLineDetail.ItemRef``): the mapped item, else an active
  item whose income account is the mapped account, else a placeholder the poster fills after
  creating "RLS · <account>" on demand.
- Tax. US companies (AST): lines say ``TAX``/``NON`` and ``TxnTaxDetail.TxnTaxCodeRef`` names the
  combined code of the return's jurisdictions; other countries: a ``TaxCodeRef`` per line with
  ``GlobalTaxCalculation: TaxExcluded``. QBO computes the tax itself — half-up per rate on the
  aggregated base — and ignores a client's ``TotalTax``, while the RMS rounds per line. The recipe
  predicts QBO's figure and, when it differs from the RMS's by rounding, adds one **tax rounding
  line** (non-taxable, on the tax mapping's item or the first merchandise item) so the document
  total equals the RMS refund to the cent. A difference beyond rounding is a problem, not a line.
- Fees withheld: ``negative_line`` (UNCONFIRMED on the real service; per-org opt-in) or, by
  default, a ``JournalEntry`` beside the sales form: Dr refund account / A/R, Cr fee income.
- Label cost: a ``JournalEntry``, Dr shipping expense, Cr clearing.
- Foreign currency: ``CurrencyRef`` + ``ExchangeRate`` (home per foreign) on every document.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from desktop.services.domain import FEE_COMPONENTS, FEE_REFUND_SIGN, Component, OrgSettings, Problem, ReturnRecord
from desktop.services.mapping.model import COMPONENT_LABELS, MappingTarget, jurisdiction_key
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.money import Money, minor_units
from desktop.services.store.models.enums import RefundMethod
from desktop.services.sync import keys
from desktop.services.sync.documents import CUSTOMER, JournalLine, LedgerDocument, line, placeholder
from desktop.services.sync.fx import FxRates, FxUse
from desktop.services.sync.recipes.common import (
    ZERO,
    Ctx,
    Piece,
    dsum,
    ledger_tax,
    msum,
    percent,
    resolve_customer,
    tolerance,
)

PLATFORM = "qbo"


def _ref(value: str) -> dict[str, str]:
    return {"value": value}


def is_us(snap: ReferenceSnapshot, settings: OrgSettings) -> bool:
    """US sales-tax model (AST): the company has the ``TAX``/``NON`` pseudo codes."""
    model = settings.extra.get("qbo_tax_model")
    if model in ("us", "non_us"):
        return model == "us"
    return "TAX" in snap.tax_codes and "NON" in snap.tax_codes


def code_rates(snap: ReferenceSnapshot, code_id: str | None) -> list[tuple[str, str, Decimal]] | None:
    """(rate id, name, percent) of each component sales rate of a QBO tax code, when cached."""
    rec = snap.tax_codes.get(code_id) if code_id else None
    parts = (rec.raw or {}).get("rls_rates") if rec is not None else None
    if not parts:
        return None
    try:
        return [(str(p["id"]), str(p["name"]), Decimal(str(p["rate"]))) for p in parts]
    except (KeyError, TypeError, InvalidOperation):
        return None


class _Qbo:
    def __init__(self, ctx: Ctx) -> None:
        self.c = ctx
        self.ret = ctx.ret
        self.us = is_us(ctx.snap, ctx.settings)
        self.day, self.note = ctx.posting_date()
        self.fx: FxUse | None = ctx.fx(self.ret.currency, self.day)
        cust = resolve_customer(self.ret.customer, ctx.snap, self.ret.currency)
        self.customer_ref = _ref(cust.remote_id if cust else placeholder(CUSTOMER))
        self.docs: list[LedgerDocument] = []
        self._items: dict[str, str] | None = None

    # --- helpers -----------------------------------------------------------------------------

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

    def acct(self, target: MappingTarget | None) -> tuple[str, str]:
        return self.c.account(target) if target is not None else ("", "unmapped")

    def header(self, role: str, what: str) -> tuple[str, dict[str, Any]]:
        ret = self.ret
        key = keys.idempotency_key(ret.org_code, ret.rms_id, ret.revision, role)
        note = keys.memo_text(key, ret.rma_number, ret.revision, what)
        if self.note:
            note = f"{note} · {self.note}"
        body: dict[str, Any] = {"TxnDate": self.day.isoformat(),
                                "DocNumber": keys.doc_number(ret.rma_number, ret.revision, role),
                                "PrivateNote": note}
        if ret.currency != self.c.snap.home_currency:
            body["CurrencyRef"] = _ref(ret.currency)
            if self.fx is not None:
                body["ExchangeRate"] = self.fx.rate
        return key, body

    def document(self, role: str, doc_type: str, key: str, payload: dict[str, Any], total: Money,
                 journal: list[JournalLine], *, refund_effect: Money | None, depends_on: str | None = None,
                 extra: dict[str, Any] | None = None) -> LedgerDocument:
        ret = self.ret
        return LedgerDocument(
            role=role, platform=PLATFORM, doc_type=doc_type, idempotency_key=key, txn_date=self.day,
            currency=ret.currency, total=total, payload=payload, journal=tuple(journal),
            source=(ret.org_code, ret.rms_id, ret.revision), mapping_version=self.c.resolver.version,
            home_currency=self.c.snap.home_currency, fx=self.fx, depends_on=depends_on,
            notes=(self.note,) if self.note else (), refund_effect=refund_effect, extra=extra or {})

    # --- the sales form ------------------------------------------------------------------------

    def exempt_code(self, piece: Piece | None) -> str | None:
        """The code of an untaxed line: US ``NON``; else the piece's mapped code, the organization's
        ``qbo_exempt_tax_code`` setting, or the company's non-taxable "Exempt" code. The tax rounding
        line (``piece`` None) never takes a mapped code, which could be a taxable one."""
        if self.us:
            return "NON"
        if piece is not None and piece.target is not None and piece.target.tax_code:
            return piece.target.tax_code
        configured = self.c.settings.extra.get("qbo_exempt_tax_code")
        if isinstance(configured, str):
            return configured
        for t in self.c.snap.tax_codes.values():
            if t.active and not t.type and t.name.casefold() in ("exempt", "zero-rated", "out of scope"):
                return t.remote_id
        what = f"{piece.description} ({piece.field})" if piece else "The tax rounding line"
        self.c.problem("missing_tax_code",
                       f"{what} carries no tax, and QuickBooks needs a tax code on every line of a non-US company: "
                       "an admin must map an exempt tax code for "
                       f"{COMPONENT_LABELS[piece.component] if piece else 'Merchandise refunded'} on the Mappings "
                       "page (or set qbo_exempt_tax_code in the organization's settings).",
                       piece.field if piece else "lines")
        return None

    def sales_form(self, pieces: list[Piece]) -> None:
        c, ret = self.c, self.ret
        cur = ret.currency
        refund = ret.refund_method is RefundMethod.ORIGINAL_PAYMENT
        role, doc_type = ("refund_receipt", "RefundReceipt") if refund else ("credit_memo", "CreditMemo")
        key, body = self.header(role, "refund" if refund else "customer credit")
        body = {"CustomerRef": dict(self.customer_ref), **body}
        lines: list[dict[str, Any]] = []
        journal: list[JournalLine] = []
        # tax: the code per piece, then QBO's own arithmetic per (code, jurisdiction)
        places = minor_units(cur)
        bases: dict[str, Decimal] = {}
        rates: dict[tuple[str, str], Decimal] = {}
        codes_used: dict[str, str] = {}
        taxed_sets: dict[str, str] = {}
        for p in pieces:
            taxed = bool(p.taxes)
            code = (p.tax_target.tax_code if p.tax_target else None) if taxed else self.exempt_code(p)
            if taxed and p.juris_key and code:
                codes_used[p.juris_key] = code
            detail: dict[str, Any] = {"ItemRef": _ref(self.item_for(p.target))}
            # QBO checks Amount = Qty × UnitPrice: send them only when exact
            if p.unit_price.amount * p.quantity == p.net.amount:
                detail["Qty"] = p.quantity
                detail["UnitPrice"] = p.unit_price.amount
            line_code = ("TAX" if taxed else "NON") if self.us else code
            if line_code:
                detail["TaxCodeRef"] = _ref(line_code)
            for tr in (p.target.tracking if p.target else ()):
                if tr.category_id == "class":
                    detail["ClassRef"] = _ref(tr.option_id)
                elif tr.category_id == "department":
                    body["DepartmentRef"] = _ref(tr.option_id)
            lines.append({"DetailType": "SalesItemLineDetail", "Amount": p.net.amount, "Description": p.description,
                          "SalesItemLineDetail": detail})
            aid, aname = self.acct(p.target)
            journal.append(line(aid, aname, p.net, p.description, debit=True, component=p.component))
            if taxed:
                group = "TAX" if self.us else (code or "?")
                bases[group] = bases.get(group, ZERO) + p.net.amount
                if self.us and p.juris_key:
                    taxed_sets.setdefault(p.juris_key, p.field)
                for t in p.taxes:
                    rates.setdefault((group, t.jurisdiction), percent(t, p.net))
        if self.us and len(taxed_sets) > 1:
            c.problem("unsupported_tax_mix",
                      f"QuickBooks US sales tax applies one combined rate per document, but return {ret.rma_number} "
                      f"has lines taxed under {' and '.join(sorted(taxed_sets))}: enter this return by hand on the "
                      "Manual entry page, or correct the tax jurisdictions in the RMS.", "lines")
        predicted: dict[str, Decimal] = {}
        for (group, j), pct in rates.items():
            predicted[j] = predicted.get(j, ZERO) + ledger_tax(bases[group], pct, places)
        doc_code = codes_used.get(next(iter(taxed_sets))) if self.us and taxed_sets else None
        rate_ok = self.ledger_rates(bases, rates, doc_code, predicted, places)
        rms_tax = dsum(p.tax.amount for p in pieces)
        diff = rms_tax - dsum(predicted.values())
        fallback_tax = next((p.tax_target for p in pieces if p.tax_target), None)
        for j, amount in predicted.items():
            aid, aname = c.tax_account(j, fallback_tax)
            journal.append(line(aid, aname, Money(amount, cur), f"tax {j}", debit=True, component=Component.TAX))
        if doc_code:
            body["TxnTaxDetail"] = {"TxnTaxCodeRef": _ref(doc_code)}
        if not self.us:
            body["GlobalTaxCalculation"] = "TaxExcluded"
        if diff and rate_ok:
            entries = sum(len(p.taxes) for p in pieces) + len(predicted)
            if abs(diff) > tolerance(cur, entries):
                c.problem("tax_mismatch",
                          f"The RMS refunds {rms_tax} {cur} of tax but {c.ledger} will compute "
                          f"{rms_tax - diff} {cur} from the mapped tax codes: an admin must check that the tax "
                          f"codes mapped for {', '.join(sorted(codes_used)) or 'these jurisdictions'} carry the "
                          "RMS's rates.",
                          "lines")
            else:
                tax_item_target = fallback_tax if fallback_tax and fallback_tax.item_id else (
                    pieces[0].target if pieces else None)
                rounding_code = self.exempt_code(None)
                detail = {"ItemRef": _ref(self.item_for(tax_item_target))}
                if rounding_code:
                    detail["TaxCodeRef"] = _ref(rounding_code)
                lines.append({"DetailType": "SalesItemLineDetail", "Amount": diff,
                              "Description": "Tax rounding (RMS rounds per line, QuickBooks per rate)",
                              "SalesItemLineDetail": detail})
                aid, aname = self.acct(tax_item_target)
                journal.append(line(aid, aname, Money(diff, cur), "tax rounding", debit=True))
        total = Money(dsum(p.net.amount for p in pieces) + rms_tax, cur)
        if total.amount < 0:
            c.problem("negative_total",
                      f"Fees withheld exceed what return {ret.rma_number} refunds ({total}); QuickBooks refuses a "
                      f"negative {doc_type}: switch this organization's fee treatment to a separate journal on the "
                      "Settings page, or correct the fees in the RMS.", "fees")
        if refund:
            rt = c.refund_target()
            aid, aname = self.acct(rt)
            body["DepositToAccountRef"] = _ref(aid or placeholder("unmapped"))
        else:
            aid, aname, _ = c.receivable()
        journal.append(line(aid, aname, total, "refund" if refund else "customer credit", debit=False,
                            component=Component.REFUND if refund else None))
        body["Line"] = lines
        self.docs.append(self.document(role, doc_type, key, body, total, journal, refund_effect=total,
                                       extra={"tax_codes": codes_used, "ledger_tax": predicted}))

    def ledger_rates(self, bases: dict[str, Decimal], rates: dict[tuple[str, str], Decimal], doc_code: str | None,
                     predicted: dict[str, Decimal], places: int) -> bool:
        """Check the mapped codes' own rates against the RMS's and predict QuickBooks' tax from them.

        QuickBooks charges what the *code* says — every component rate of a combined code, each
        rounded half-up on the taxable base — whatever rate the RMS used. A code whose combined rate
        differs from the RMS's (US-WA at 6.5 % mapped to "Seattle, WA" at 10.25 %) would refund the
        customer's tax wrongly: that is a problem for an admin, not a rounding line. With the rates
        known, ``predicted`` is corrected to QuickBooks' figure (one rounding per component rate, a
        cent apart from one rounding of the combined rate); a company whose rates were not cached
        keeps the prediction from the RMS's rates. Returns False when a problem was raised.
        """
        c = self.c
        components: dict[str, tuple[Decimal, Decimal]] = {}
        for group, base in bases.items():
            code = doc_code if self.us else group
            parts = code_rates(c.snap, code)
            if parts is None:
                return True
            rms_pct = dsum(pct for (g, _j), pct in rates.items() if g == group)
            code_pct = dsum(pct for _i, _n, pct in parts)
            if rms_pct != code_pct:
                juris = sorted(j for (g, j) in rates if g == group)
                name = c.snap.tax_codes[code].name if code and code in c.snap.tax_codes else code
                detail = " + ".join(f"{n} {pct.normalize():f} %" for _i, n, pct in parts)
                c.problem("tax_rate_mismatch",
                          f"The RMS taxes {' + '.join(juris)} at {rms_pct.normalize():f} % but the {c.ledger} tax "
                          f"code mapped for it, \"{name}\", charges {code_pct.normalize():f} % ({detail}): an admin "
                          f"must map tax jurisdiction {jurisdiction_key(juris)} to a code with the RMS's rate on the "
                          "Mappings page.", "lines")
                return False
            for rid, _name, pct in parts:
                prev = components.get(rid, (pct, ZERO))
                components[rid] = (pct, prev[1] + base)
        if not components or not predicted:
            return True
        ledger_total = dsum(ledger_tax(base, pct, places) for pct, base in components.values())
        last = list(predicted)[-1]
        predicted[last] += ledger_total - dsum(predicted.values())
        return True

    # --- journals ------------------------------------------------------------------------------

    def journal_entry(self, role: str, what: str, journal: list[JournalLine], ar_lines: set[int],
                      refund_effect: Money | None) -> None:
        key, body = self.header(role, what)
        lines = []
        for i, jl in enumerate(journal):
            detail: dict[str, Any] = {"PostingType": "Debit" if jl.debit is not None else "Credit",
                                      "AccountRef": _ref(jl.account_id or placeholder("unmapped"))}
            if i in ar_lines:
                detail["Entity"] = {"Type": "Customer", "EntityRef": dict(self.customer_ref)}
            lines.append({"DetailType": "JournalEntryLineDetail", "Amount": jl.amount.amount,
                          "Description": jl.memo, "JournalEntryLineDetail": detail})
        body["Line"] = lines
        total = msum((jl.debit for jl in journal if jl.debit is not None), self.ret.currency)
        self.docs.append(self.document(role, "JournalEntry", key, body, total, journal, refund_effect=refund_effect))

    def fee_journal(self, indexes: list[int]) -> None:
        c, ret = self.c, self.ret
        credits: list[JournalLine] = []
        gross_d = ZERO
        for i in indexes:
            fee = ret.fees[i]
            t = c.fee_target(i)
            aid, aname = self.acct(t)
            label = COMPONENT_LABELS[FEE_COMPONENTS[fee.type]]
            credits.append(line(aid, aname, fee.amount, f"{label} withheld", debit=False,
                                component=FEE_COMPONENTS[fee.type]))
            for tax in fee.taxes:
                tid, tname = c.tax_account(tax.jurisdiction, c.tax_target(fee.taxes, f"fees[{i}].taxes"))
                credits.append(line(tid, tname, tax.amount, f"tax {tax.jurisdiction} on {label.lower()}",
                                    debit=False, component=Component.TAX))
            gross_d += fee.amount.amount + dsum(t.amount.amount for t in fee.taxes)
        if not gross_d:
            return
        gross = Money(gross_d, ret.currency)
        refund = ret.refund_method is RefundMethod.ORIGINAL_PAYMENT
        if refund:
            did, dname = self.acct(c.refund_target())
        else:
            did, dname, _ = c.receivable()
        journal = [line(did, dname, gross, "fees withheld from the refund", debit=True,
                        component=Component.REFUND if refund else None), *credits]
        self.journal_entry("fee_journal", "fees withheld", journal, set() if refund else {0}, -gross)

    def label_journal(self, indexes: list[int]) -> None:
        c, ret = self.c, self.ret
        debits: list[JournalLine] = []
        gross_d = ZERO
        for i in indexes:
            fee = ret.fees[i]
            aid, aname = self.acct(c.fee_target(i))
            debits.append(line(aid, aname, fee.amount, "return label cost", debit=True, component=Component.LABEL_COST))
            for tax in fee.taxes:
                tid, tname = c.tax_account(tax.jurisdiction, c.tax_target(fee.taxes, f"fees[{i}].taxes"))
                debits.append(line(tid, tname, tax.amount, f"tax {tax.jurisdiction} on label", debit=True,
                                   component=Component.TAX))
            gross_d += fee.amount.amount + dsum(t.amount.amount for t in fee.taxes)
        if not gross_d:
            return
        gross = Money(gross_d, ret.currency)
        cid, cname = self.acct(c.clearing_target())
        self.journal_entry("label_journal", "return label cost",
                           [*debits, line(cid, cname, gross, "label cost payable", debit=False,
                                                component=Component.CLEARING)], set(), None)


def qbo_documents(ret: ReturnRecord, resolver: Resolver, snap: ReferenceSnapshot, settings: OrgSettings,
                  rates: FxRates | None, *, tz: str | None = None) -> tuple[list[LedgerDocument], list[Problem]]:
    """The QBO documents one return revision produces, and the problems found building them."""
    ctx = Ctx(ret, resolver, snap, settings, rates, tz or str(settings.extra.get("timezone") or "UTC"))
    q = _Qbo(ctx)
    pieces, left = ctx.pieces(fees_as_lines=ctx.fees_as_lines())
    q.sales_form(pieces)
    withheld = [i for i in left if FEE_REFUND_SIGN[ret.fees[i].type] < 0]
    labels = [i for i in left if FEE_REFUND_SIGN[ret.fees[i].type] == 0]
    if withheld:
        q.fee_journal(withheld)
    if labels:
        q.label_journal(labels)
    return q.docs, ctx.problems
