"""The platform-neutral economic journal of one return, built once (DESIGN.md §5).

Every money decision is made here, for every platform alike: which pieces a sales form carries,
the tax booked per jurisdiction (asked of the platform as a *fact*: QBO computes its own, Xero
takes the RMS's pinned figure), the tax rounding line and its tolerance, the balancing
settlement (bank or Accounts Receivable), the refund payout, the fee and label journals
with their tax, and the goods journal (``goods.py``: inventory and cost of goods by
disposition) — or, for goods back in stock of a SKU the ledger tracks, the ledger's own inventory
item on the sales form line (``tracked.py``; the preview shows the cost it books). A renderer
(``qbo.py``, ``xero.py``, each a :class:`ReturnRender`) then only translates the result into payloads.

Rules written once here:

- **Fees withheld** go on a separate journal (organization setting) unless that journal would
  have to post to Accounts Receivable on a platform that forbids it, or the organization chose
  negative lines; then they are negative sales lines.
- **Tax rounding**: the RMS rounds tax per line; when the ledger's own figure differs by no more
  than one minor unit per tax entry, one untaxed rounding line makes the document total equal the
  RMS refund to the cent; a bigger difference is a ``tax_mismatch`` problem, never a line.
- **Zero tax**: a line taxed at zero keeps its (zero-rated) tax code on the sales form — that
  is how the ledger reports a zero-rated supply — but a tax *journal line* of zero is never
  written, on any platform (sales-form preview journals, fee and label journals, summaries): it
  moves no money, neither QBO's nor Xero's reference says a zero journal line is accepted (both
  emulators take one; ``API_FACTS.md`` and the schemas are silent), so leaving it out is the form
  that works either way (DESIGN.md §5). A zero tax on a journaled fee therefore needs no tax
  account or code either.
- **Balancing**: the settlement line is the sales form's total (net + RMS tax); every journal
  balances by construction.
- **A dearer exchange** (``Settlement.CHARGE``): the same sales form, whose total is negative — the
  settlement line turns into a debit: the difference received into the Refund paid account (on
  the form where the platform settles there, else on A/R with a payment in, :func:`_charge_payment`).
  Renderers post it negated as a sale (``SalesForm.charge``); fees withheld come in with it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any, ClassVar

from desktop.services.core import keys
from desktop.services.core.domain import FEE_COMPONENTS, FEE_REFUND_SIGN, Component, Settlement
from desktop.services.core.money import Money
from desktop.services.mapping.model import COMPONENT_LABELS, MappingTarget
from desktop.services.pipeline.documents import JournalLine, LedgerDocument, line
from desktop.services.pipeline.recipes.arith import ZERO, dsum, refund_amount, tolerance
from desktop.services.pipeline.recipes.common import Ctx, resolve_customer
from desktop.services.pipeline.recipes.goods import goods_journal
from desktop.services.pipeline.recipes.shapes import (
    Payout,
    Piece,
    ReturnJournal,
    SalesForm,
    SalesLine,
    SideJournal,
)
from desktop.services.pipeline.recipes.tracked import booked_target, tracked_effect_lines, tracked_pieces


def build_return_journal(ctx: Ctx) -> ReturnJournal:
    """The economic journal of ``ctx.ret``; problems go to ``ctx.problems``."""
    ret, facts = ctx.ret, ctx.platform
    day, note = ctx.posting_date()
    fx = ctx.fx(ret.currency, day)
    customer = resolve_customer(ret.customer, ctx.snap, ret.currency)
    how = ctx.settlement()
    refund = how is Settlement.REFUND
    charge = how is Settlement.CHARGE  # a dearer exchange: the customer pays the difference
    money = refund or charge  # money moves through the Refund paid account, out or in
    as_lines = ctx.fees_as_lines() or (not money and not facts.journals_may_post_receivable)
    pieces, left = ctx.pieces(fees_as_lines=as_lines)
    pieces = tracked_pieces(ctx, pieces, charge=charge)
    pieces += ctx.replacement_pieces()
    form = _sales_form(ctx, pieces, refund, charge)
    if effect := tracked_effect_lines(ctx, pieces, lambda aid: _label(ctx, aid)):
        form = replace(form, journal=(*form.journal, *effect))  # what the ledger books through its items
    payout = None
    if facts.refund_by_payment:
        payout = _payout(ctx, form) if form.refund else _charge_payment(ctx, form) if form.charge else None
    journals: list[SideJournal] = []
    withheld = [i for i in left if FEE_REFUND_SIGN[ret.fees[i].type] < 0]
    labels = [i for i in left if FEE_REFUND_SIGN[ret.fees[i].type] == 0]
    if withheld and (fees := _fee_journal(ctx, withheld, money, charge)) is not None:
        journals.append(fees)
    if labels and (label := _label_journal(ctx, labels)) is not None:
        journals.append(label)
    if how is Settlement.LIABILITY:
        if facts.refund_by_payment:
            payout = _liability_payout(ctx)
        elif (moved := _liability_journal(ctx)) is not None:
            journals.append(moved)
    if (goods := goods_journal(ctx, frozenset(i for i, p in enumerate(pieces) if p.stock))) is not None:
        journals.append(goods)
    return ReturnJournal(ctx, day, note, fx, customer, form, payout, tuple(journals))


def _label(ctx: Ctx, account_id: str) -> str:
    rec = ctx.snap.accounts.get(account_id)
    return ctx.platform.account_label(rec) if rec is not None else account_id


def _sales_form(ctx: Ctx, pieces: list[Piece], refund: bool, charge: bool) -> SalesForm:
    ret, facts = ctx.ret, ctx.platform
    cur = ret.currency
    lines: list[SalesLine] = []
    journal: list[JournalLine] = []
    codes: dict[str, str] = {}
    for p in pieces:
        taxed = bool(p.taxes)
        code = (p.tax_target.tax_code if p.tax_target else None) if taxed else facts.untaxed_code(ctx, p)
        if taxed and p.juris_key and code:
            codes[p.juris_key] = code
        facts.check_piece(ctx, p)
        lines.append(SalesLine(p, code))
        aid, aname = ctx.acct(booked_target(p, facts.tracked_income_from_item))
        journal.append(line(aid, aname, p.net, p.description, debit=True, component=p.component))
    tax = facts.predict_tax(ctx, lines)
    rms_tax = dsum(p.tax.amount for p in pieces)
    diff = rms_tax - dsum(tax.by_jurisdiction.values())
    fallback_tax = next((p.tax_target for p in pieces if p.tax_target), None)
    for j, amount in tax.by_jurisdiction.items():
        if amount:  # the zero-tax rule (module docstring)
            aid, aname = ctx.tax_account(j, fallback_tax)
            journal.append(line(aid, aname, Money(amount, cur), f"tax {j}", debit=True, component=Component.TAX))
    rounding, rounding_target, rounding_code = ZERO, None, None
    if diff and tax.ok:
        entries = sum(len(p.taxes) for p in pieces) + len(tax.by_jurisdiction)
        if abs(diff) > tolerance(cur, entries):
            ctx.problem("tax_mismatch",
                        f"The RMS refunds {rms_tax} {cur} of tax but {ctx.ledger} will compute "
                        f"{rms_tax - diff} {cur} from the mapped tax codes: an admin must check that the tax "
                        f"codes mapped for {', '.join(sorted(codes)) or 'these jurisdictions'} carry the "
                        "RMS's rates.",
                        "lines")
        else:
            rounding = diff
            rounding_target = fallback_tax if fallback_tax and fallback_tax.item_id else (
                pieces[0].target if pieces else None)
            rounding_code = facts.untaxed_code(ctx, None)
            aid, aname = ctx.acct(rounding_target)
            journal.append(line(aid, aname, Money(diff, cur), "tax rounding", debit=True))
    total = Money(dsum(p.net.amount for p in pieces) + rms_tax, cur)
    if total.amount < 0 and not charge:  # a charge's total is what the customer pays: negative by design
        ctx.problem("negative_total",
                    f"Fees withheld exceed what return {ret.rma_number} refunds ({total}); "
                    f"{facts.negative_total_refusal(refund)}: switch this organization's fee treatment to a "
                    "separate journal on the Settings page, or correct the fees in the RMS.", "fees")
    if charge and total.amount >= 0:
        # the customer pays only because of fees withheld on their own journal (which takes them in
        # through the refund account): the form itself refunds its total, or moves no money
        charge, refund = False, bool(total.amount)
    on_form = (refund or charge) and not facts.refund_by_payment
    if on_form:
        aid, aname = ctx.acct(ctx.refund_target())
    else:
        aid, aname, _ = ctx.receivable()
    if total.amount or not pieces:  # an even exchange moves no money: no settlement line
        # a charge's negative total turns the credit into a debit: the difference received
        # (QBO: into the Refund paid account on the sales receipt; Xero: on A/R, then paid)
        what = ("difference received" if on_form else "difference charged") if charge else (
            "refund" if on_form else "customer credit")
        journal.append(line(aid, aname, total, what, debit=False, component=Component.REFUND if on_form else None))
    return SalesForm(refund, on_form, tuple(lines), tax, codes, rounding, rounding_target, rounding_code, total,
                     aid if on_form else "", tuple(journal), charge)


def _payout(ctx: Ctx, form: SalesForm) -> Payout | None:
    """The credit paid back to the customer's bank: Dr Accounts Receivable, Cr refund account."""
    if form.total.amount <= 0:
        return None
    target = ctx.refund_target()
    rid, rname, _ = ctx.receivable()
    bid, bname = ctx.acct(target)
    return Payout(form.total, target, (line(rid, rname, form.total, "customer credit refunded", debit=True),
                                       line(bid, bname, form.total, "refund paid", debit=False,
                                            component=Component.REFUND)))


def _charge_payment(ctx: Ctx, form: SalesForm) -> Payout | None:
    """A dearer exchange's difference paid in against the charge: Dr the refund account, Cr A/R."""
    amount = -form.total
    if amount.amount <= 0:
        return None
    target = ctx.refund_target()
    rid, rname, _ = ctx.receivable()
    bid, bname = ctx.acct(target)
    return Payout(amount, target, (line(bid, bname, amount, "difference received", debit=True,
                                        component=Component.REFUND),
                                   line(rid, rname, amount, "customer paid the difference", debit=False)),
                  "charge_payment", "exchange difference paid")


def _moved_credit(ctx: Ctx) -> tuple[Money, MappingTarget | None, tuple[JournalLine, ...]] | None:
    """Store credit as a liability: the customer's whole credit (the return's refund amount, after
    fees withheld) moves off Accounts Receivable: Dr A/R (the customer), Cr the mapped liability."""
    amount = Money(refund_amount(ctx.ret), ctx.ret.currency)
    if amount.amount <= 0:
        return None
    target = ctx.store_credit_target()
    rid, rname, _ = ctx.receivable()
    lid, lname = ctx.acct(target)
    return amount, target, (line(rid, rname, amount, "store credit moved to liability", debit=True),
                            line(lid, lname, amount, "store credit issued", debit=False,
                                 component=Component.STORE_CREDIT))


def _liability_payout(ctx: Ctx) -> Payout | None:
    """… as a payment against the credit from the liability account (platforms with ``refund_by_payment``)."""
    moved = _moved_credit(ctx)
    return Payout(moved[0], moved[1], moved[2], "store_credit_payment", "store credit") if moved else None


def _liability_journal(ctx: Ctx) -> SideJournal | None:
    """… as a journal whose A/R line names the customer (platforms whose journals may post to A/R)."""
    moved = _moved_credit(ctx)
    if moved is None:
        return None
    return SideJournal("store_credit_journal", "store credit to liability", moved[2], frozenset({0}), None)


def _fee_taxes(ctx: Ctx, index: int, what: str, *, debit: bool) -> list[JournalLine]:
    """The tax lines of fee ``index`` (zero taxes left out), each on its jurisdiction's account."""
    fee = ctx.ret.fees[index]
    out: list[JournalLine] = []
    for tax in fee.taxes:
        if not tax.amount.is_zero():  # the zero-tax rule (module docstring)
            tid, tname = ctx.tax_account(tax.jurisdiction, ctx.tax_target(fee.taxes, f"fees[{index}].taxes"))
            out.append(line(tid, tname, tax.amount, f"tax {tax.jurisdiction} on {what}", debit=debit,
                            component=Component.TAX))
    return out


def _gross(ctx: Ctx, indexes: list[int]) -> Decimal:
    fees = ctx.ret.fees
    return dsum(fees[i].amount.amount + dsum(t.amount.amount for t in fees[i].taxes) for i in indexes)


def _fee_journal(ctx: Ctx, indexes: list[int], refund: bool, charge: bool = False) -> SideJournal | None:
    """Fees withheld: Dr the refund account (or the customer's A/R), Cr fee income and its tax.
    ``refund``: money moves through the refund account (a refund, or a dearer exchange's charge)."""
    ret = ctx.ret
    credits: list[JournalLine] = []
    for i in indexes:
        comp = FEE_COMPONENTS[ret.fees[i].type]
        label = COMPONENT_LABELS[comp]
        aid, aname = ctx.acct(ctx.fee_target(i))
        credits.append(line(aid, aname, ret.fees[i].amount, f"{label} withheld", debit=False, component=comp))
        credits.extend(_fee_taxes(ctx, i, label.lower(), debit=False))
    gross_d = _gross(ctx, indexes)
    if not gross_d:
        return None
    gross = Money(gross_d, ret.currency)
    if refund:
        did, dname = ctx.acct(ctx.refund_target())
    else:
        did, dname, _ = ctx.receivable()
    memo = "fees charged with the exchange difference" if charge else "fees withheld from the refund"
    first = line(did, dname, gross, memo, debit=True,
                 component=Component.REFUND if refund else None)
    return SideJournal("fee_journal", "fees withheld", (first, *credits),
                       frozenset() if refund else frozenset({0}), -gross)


def _label_journal(ctx: Ctx, indexes: list[int]) -> SideJournal | None:
    """Label cost borne by the merchant: Dr shipping expense and its tax, Cr clearing."""
    ret = ctx.ret
    debits: list[JournalLine] = []
    for i in indexes:
        aid, aname = ctx.acct(ctx.fee_target(i))
        debits.append(line(aid, aname, ret.fees[i].amount, "return label cost", debit=True,
                           component=Component.LABEL_COST))
        debits.extend(_fee_taxes(ctx, i, "label", debit=True))
    gross_d = _gross(ctx, indexes)
    if not gross_d:
        return None
    cid, cname = ctx.acct(ctx.clearing_target())
    clearing = line(cid, cname, Money(gross_d, ret.currency), "label cost payable", debit=False,
                    component=Component.CLEARING)
    return SideJournal("label_journal", "return label cost", (*debits, clearing), frozenset(), None)


class ReturnRender:
    """What every platform's renderer of one return shares: the journal, its context and return,
    and how each document of the return is keyed, noted and recorded (a subclass sets
    :attr:`platform` and writes the payloads)."""

    #: The platform name the documents record.
    platform: ClassVar[str]

    def __init__(self, journal: ReturnJournal) -> None:
        self.j = journal
        self.c = journal.ctx
        self.ret = journal.ctx.ret

    def key(self, role: str) -> str:
        """The idempotency key of the return revision's document in ``role``."""
        r = self.ret
        return keys.idempotency_key(r.org_code, r.rms_id, r.revision, role, r.posting_round)

    def memo(self, key: str, what: str) -> str:
        """The note the document carries: its key and what it is, then the return's note if any."""
        text = keys.memo_text(key, self.ret.rma_number, self.ret.revision, what)
        return f"{text} · {self.j.note}" if self.j.note else text

    def document(self, role: str, doc_type: str, key: str, payload: dict[str, Any], total: Money,
                 journal: tuple[JournalLine, ...], *, refund_effect: Money | None, depends_on: str | None = None,
                 currency: str | None = None, extra: dict[str, Any] | None = None) -> LedgerDocument:
        """One document of the return (in the return's currency unless ``currency`` says otherwise)."""
        r, j = self.ret, self.j
        return LedgerDocument(
            role=role, platform=self.platform, doc_type=doc_type, idempotency_key=key, txn_date=j.day,
            currency=currency or r.currency, total=total, payload=payload, journal=journal,
            source=(r.org_code, r.rms_id, r.revision), mapping_version=self.c.resolver.version,
            home_currency=self.c.snap.home_currency, fx=j.fx, depends_on=depends_on,
            notes=(j.note,) if j.note else (), refund_effect=refund_effect, extra=extra or {})
