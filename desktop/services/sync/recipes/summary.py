"""Daily-summary mode: one journal per organization, day and currency (DESIGN.md §5).

High-volume organizations post a day of returns as one ``JournalEntry`` (QBO) / ``ManualJournal``
(Xero) through the refunds clearing account instead of a sales form per return — one API call
instead of hundreds. Every return contributes its economic lines (Dr merchandise, Dr tax per
jurisdiction, ± fees, label cost against clearing, Cr clearing for the refund); lines are summed
exactly per (account, tax jurisdiction) and netted to one debit or credit each, so the journal
balances by construction. Xero manual journals are always in the base currency: a foreign day is
converted with the day's recorded rate (``convert_journal``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from desktop.services.domain import FEE_COMPONENTS, FEE_REFUND_SIGN, Component, OrgSettings, Problem, ReturnRecord
from desktop.services.mapping.model import MappingTarget, jurisdiction_key
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.money import Money, sum_money
from desktop.services.sync import keys
from desktop.services.sync.documents import JournalLine, LedgerDocument, convert_journal, line
from desktop.services.sync.fx import FxRates
from desktop.services.sync.recipes.common import Ctx

_Key = tuple[str, str, str | None, str | None]  # (account id, name, jurisdiction, component)


def _add(acc: dict[_Key, Money], key: _Key, amount: Money) -> None:
    acc[key] = acc[key] + amount if key in acc else amount


def _economic_lines(ctx: Ctx, acc: dict[_Key, Money]) -> None:
    """Signed (debit +) amounts of one return, added into ``acc``."""
    ret = ctx.ret

    def acct(t: MappingTarget | None) -> tuple[str, str]:
        return ctx.account(t) if t is not None else ("", "unmapped")

    def taxes(owner: Any, sign: int, fld: str) -> None:
        if not owner.taxes:
            return
        fallback = ctx.tax_target(owner.taxes, fld)
        for t in owner.taxes:
            if not t.amount.is_zero():
                aid, name = ctx.tax_account(t.jurisdiction, fallback)
                _add(acc, (aid, name, t.jurisdiction, Component.TAX), t.amount * sign)

    for i, ln in enumerate(ret.lines):
        key = jurisdiction_key(t.jurisdiction for t in ln.taxes)
        tgt = ctx.target(ctx.context(Component.MERCHANDISE, reason_code=ln.reason_code, disposition=ln.disposition,
                                     tax_jurisdiction=key), f"lines[{i}]")
        aid, name = acct(tgt)
        _add(acc, (aid, name, None, Component.MERCHANDISE), ln.net)
        taxes(ln, 1, f"lines[{i}].taxes")
    clearing = acct(ctx.clearing_target())
    for i, fee in enumerate(ret.fees):
        comp = FEE_COMPONENTS[fee.type]
        sign = FEE_REFUND_SIGN[fee.type]
        aid, name = acct(ctx.fee_target(i))
        if sign == 0:  # label cost: Dr expense (and tax), Cr clearing
            _add(acc, (aid, name, None, comp), fee.amount)
            taxes(fee, 1, f"fees[{i}].taxes")
            _add(acc, (*clearing, None, Component.CLEARING), -(fee.amount + fee.tax))
        else:
            _add(acc, (aid, name, None, comp), fee.amount * sign)
            taxes(fee, sign, f"fees[{i}].taxes")
    _add(acc, (*clearing, None, Component.CLEARING), -ret.computed_refund())


def summary_documents(returns: Iterable[ReturnRecord], resolver: Resolver, snap: ReferenceSnapshot,
                      settings: OrgSettings, rates: FxRates | None, *,
                      tz: str | None = None) -> tuple[list[LedgerDocument], list[Problem]]:
    """One summary journal per (organization, local day, currency) of ``returns``."""
    zone = tz or str(settings.extra.get("timezone") or "UTC")
    groups: dict[tuple[str, date, str], list[ReturnRecord]] = {}
    for ret in returns:
        day = ret.updated_at.astimezone(ZoneInfo(zone)).date()
        groups.setdefault((ret.org_code, day, ret.currency), []).append(ret)
    docs: list[LedgerDocument] = []
    problems: list[Problem] = []
    for (org, day, cur), rets in sorted(groups.items()):
        acc: dict[_Key, Money] = {}
        ctx: Ctx | None = None
        for ret in rets:
            ctx = Ctx(ret, resolver, snap, settings, rates, zone)
            _economic_lines(ctx, acc)
            for p in ctx.problems:
                problems.append(Problem(p.code, f"{ret.rma_number}: {p.message}", p.field))
        assert ctx is not None
        post_day, note = ctx.posting_date()
        fx = ctx.fx(cur, post_day)
        problems.extend(p for p in ctx.problems if p.code == "missing_fx_rate" and p not in problems)
        journal: list[JournalLine] = [
            line(aid, name, amount, f"tax {j}" if j else f"{comp or ''} ({len(rets)} returns)".strip(),
                 debit=True, component=comp)
            for (aid, name, j, comp), amount in acc.items() if not amount.is_zero()]
        key = keys.summary_key(org, day, cur)
        text = f"RLS {key} · daily returns summary {day.isoformat()} {cur} · {len(rets)} returns"
        if note:
            text += f" · {note}"
        refund = sum_money((r.computed_refund() for r in rets), cur)
        home = snap.home_currency
        if snap.platform == "xero":
            if cur != home:
                if fx is None:
                    continue
                lines: tuple[JournalLine, ...] = convert_journal(journal, cur, fx)
                text += f" · {cur} at {fx.rate} {home}"
            else:
                lines = tuple(journal)
            body: dict[str, Any] = {"Narration": text, "Date": post_day.isoformat(), "Status": "POSTED",
                                    "LineAmountTypes": "NoTax", "JournalLines": [
                                        {"LineAmount": jl.signed.amount, **_xero_account(snap, jl),
                                         "Description": jl.memo} for jl in lines]}
            payload: dict[str, Any] = {"ManualJournals": [body]}
            doc_type, doc_cur = "ManualJournal", home
        else:
            lines = tuple(journal)
            payload = {"TxnDate": post_day.isoformat(), "DocNumber": f"RLS-{day:%Y%m%d}-{cur}", "PrivateNote": text,
                       "Line": [{"DetailType": "JournalEntryLineDetail", "Amount": jl.amount.amount,
                                 "Description": jl.memo,
                                 "JournalEntryLineDetail": {"PostingType": "Debit" if jl.debit else "Credit",
                                                            "AccountRef": {"value": jl.account_id or "${unmapped}"}}}
                                for jl in lines]}
            if cur != home:
                payload["CurrencyRef"] = {"value": cur}
                if fx is not None:
                    payload["ExchangeRate"] = fx.rate
            doc_type, doc_cur = "JournalEntry", cur
        total = sum_money((jl.debit for jl in lines if jl.debit is not None), doc_cur)
        docs.append(LedgerDocument(
            role="summary_journal", platform=snap.platform or "qbo", doc_type=doc_type, idempotency_key=key,
            txn_date=post_day, currency=doc_cur, total=total, payload=payload, journal=lines,
            source=(org, day.isoformat(), 0), mapping_version=resolver.version, home_currency=home, fx=fx,
            notes=(note,) if note else (), refund_effect=refund,
            extra={"returns": [(r.rms_id, r.revision) for r in rets]}))
    return docs, problems


def _xero_account(snap: ReferenceSnapshot, jl: JournalLine) -> dict[str, str]:
    rec = snap.accounts.get(jl.account_id)
    if rec is not None and rec.code:
        return {"AccountCode": rec.code}
    return {"AccountID": jl.account_id or "${unmapped}"}
