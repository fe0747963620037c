"""Daily-summary mode: one journal per organization, day and currency (DESIGN.md §5).

High-volume organizations post a day of returns as one ``JournalEntry`` (QBO) / ``ManualJournal``
(Xero) through the refunds clearing account instead of a sales form per return — one API call
instead of hundreds. Every return contributes its economic lines (Dr merchandise, Dr tax per
jurisdiction, ± fees, label cost against clearing, Cr sales and tax for an exchange's replacement
goods, Cr clearing for the refund — or Cr the store credit liability account when the organization
keeps store credit there — and, when the organization posts returned goods, the goods journal's
inventory / write-off and cost of goods sold lines, ``goods.py``); lines are summed
exactly per (account, tax jurisdiction) and netted to one debit or credit each, so the journal
balances by construction; a zero tax or a line that nets to zero is left out (the zero-tax rule
of ``journal.py``). The result is a platform-neutral :class:`~.journal.SummaryJournal` that the
snapshot's platform renders (Xero converts a foreign day to its base currency).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from desktop.services.core import keys
from desktop.services.core.domain import (
    FEE_COMPONENTS,
    FEE_REFUND_SIGN,
    Component,
    OrgSettings,
    Problem,
    ReturnRecord,
    Settlement,
)
from desktop.services.core.money import Money, sum_money
from desktop.services.mapping.model import jurisdiction_key
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.pipeline.documents import JournalLine, LedgerDocument, line
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.recipes.common import Ctx
from desktop.services.pipeline.recipes.goods import goods_lines
from desktop.services.pipeline.recipes.shapes import SummaryJournal

_Key = tuple[str, str, str | None, str | None]  # (account id, name, jurisdiction, component)


def _add(acc: dict[_Key, Money], key: _Key, amount: Money) -> None:
    acc[key] = acc[key] + amount if key in acc else amount


def _economic_lines(ctx: Ctx, acc: dict[_Key, Money]) -> None:
    """Signed (debit +) amounts of one return, added into ``acc``."""
    ret = ctx.ret

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
        aid, name = ctx.acct(tgt)
        _add(acc, (aid, name, None, Component.MERCHANDISE), ln.net)
        taxes(ln, 1, f"lines[{i}].taxes")
    for i, ln in enumerate(ret.replacements):  # an exchange's replacement goods: Cr sales and its tax
        key = jurisdiction_key(t.jurisdiction for t in ln.taxes)
        tgt = ctx.target(ctx.context(Component.REPLACEMENT, tax_jurisdiction=key), f"exchange.lines[{i}]")
        aid, name = ctx.acct(tgt)
        _add(acc, (aid, name, None, Component.REPLACEMENT), -ln.net)
        taxes(ln, -1, f"exchange.lines[{i}].taxes")
    clearing = ctx.acct(ctx.clearing_target())
    for i, fee in enumerate(ret.fees):
        comp = FEE_COMPONENTS[fee.type]
        sign = FEE_REFUND_SIGN[fee.type]
        aid, name = ctx.acct(ctx.fee_target(i))
        if sign == 0:  # label cost: Dr expense (and tax), Cr clearing
            _add(acc, (aid, name, None, comp), fee.amount)
            taxes(fee, 1, f"fees[{i}].taxes")
            _add(acc, (*clearing, None, Component.CLEARING), -(fee.amount + fee.tax))
        else:
            _add(acc, (aid, name, None, comp), fee.amount * sign)
            taxes(fee, sign, f"fees[{i}].taxes")
    if ctx.settlement() is Settlement.LIABILITY:  # store credit stays on its liability account
        _add(acc, (*ctx.acct(ctx.store_credit_target()), None, Component.STORE_CREDIT), -ret.computed_refund())
    else:
        _add(acc, (*clearing, None, Component.CLEARING), -ret.computed_refund())
    for jl in goods_lines(ctx):  # returned goods at cost (organization setting): balanced in itself
        _add(acc, (jl.account_id, jl.account_name, None, jl.component), jl.signed)


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
        journal: tuple[JournalLine, ...] = tuple(
            line(aid, name, amount, f"tax {j}" if j else f"{comp or ''} ({len(rets)} returns)".strip(),
                 debit=True, component=comp)
            for (aid, name, j, comp), amount in acc.items() if not amount.is_zero())
        key = keys.summary_key(org, day, cur)
        text = f"RLS {key} · daily returns summary {day.isoformat()} {cur} · {len(rets)} returns"
        if note:
            text += f" · {note}"
        summary = SummaryJournal(
            snap=snap, platform=snap.platform, home_currency=snap.home_currency, org=org, day=day,
            post_day=post_day, currency=cur, note=note, fx=fx, journal=journal, key=key, text=text,
            refund=sum_money((r.computed_refund() for r in rets), cur),
            returns=tuple((r.rms_id, r.revision) for r in rets), mapping_version=resolver.version)
        if (doc := ctx.platform.render_summary(summary)) is not None:
            docs.append(doc)
    return docs, problems
