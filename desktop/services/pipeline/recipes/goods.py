"""Returned goods at cost: the goods journal of a return (issue 16, companies that do not track
inventory quantities in the ledger).

The rule, written once for every platform (the per-return journal of ``journal.py`` and the
daily summary of ``summary.py`` both take these lines; which lines move is
:func:`~desktop.services.core.domain.goods_debit`, shared with the mapping's contexts in use):

- the organization's ``goods_posting`` setting is ``journal`` (the default ``off`` posts nothing);
- a line the RMS puts back on the shelf (``RESTOCK``) or refurbishes to sell again (``REFURBISH``):
  **Dr inventory asset, Cr cost of goods sold** at quantity × unit cost;
- a damaged line (the RMS's ``SCRAP``): **Dr inventory write-off, Cr cost of goods sold** at cost,
  or nothing when the organization's ``damaged_goods`` setting is ``no_inventory_effect``;
- a line going back to the vendor (``RETURN_TO_VENDOR``): nothing here — that is the vendor-credit
  path's (a vendor credit against the mapped supplier), not a goods journal;
- a damaged line of a SKU the ledger tracks as inventory is costed at the item's own cost first
  (``tracked.py`` says why); goods back in stock of a tracked SKU are not journaled at all — the
  ledger books them through its item (``tracked.py``);
- the cost is the RMS's ``unit_cost`` (in the return's currency); without it, the ledger item's
  own cost when the reference snapshot carries one for the SKU in the return's currency (a
  platform fact, :meth:`~.base.LedgerRecipes.item_cost`); otherwise a ``cost_unknown`` problem that
  names the SKU — never a guessed cost;
- the accounts come from mapping rules (Inventory asset, Cost of goods sold, Inventory write-off),
  matched like merchandise rules on reason code and disposition; a missing rule is the usual
  ``unmapped_component`` problem;
- a line of zero cost writes no journal line (the zero rule of ``journal.py``); the journal
  balances by construction (every debit has its credit of the same amount) and moves no refund.
"""

from __future__ import annotations

from desktop.services.core.domain import DISPOSITION_EFFECTS, Component, GoodsEffect, ReturnLine, goods_debit
from desktop.services.core.money import Money
from desktop.services.pipeline.documents import JournalLine, line
from desktop.services.pipeline.recipes.arith import line_net
from desktop.services.pipeline.recipes.common import Ctx
from desktop.services.pipeline.recipes.shapes import SideJournal
from desktop.services.pipeline.recipes.tracked import item_cost_of, stock_for

__all__ = ["goods_journal", "goods_lines", "unit_cost"]

_WHAT = {Component.INVENTORY_ASSET: "back in stock", Component.INVENTORY_WRITE_OFF: "written off"}


def unit_cost(ctx: Ctx, index: int, ln: ReturnLine) -> tuple[Money, str] | None:
    """The line's unit cost and where it came from; ``None`` with a ``cost_unknown`` problem."""
    damaged = DISPOSITION_EFFECTS.get(ln.disposition) is GoodsEffect.DAMAGED
    if damaged and (stock := stock_for(ctx, ln)) and (cost := item_cost_of(stock, ctx.ret.currency)):
        return cost, f"{ctx.platform.profile.short_name} tracked item cost"  # tracked.py: damaged goods
    if ln.unit_cost is not None:
        return ln.unit_cost, "RMS cost"
    cost = ctx.platform.item_cost(ctx.snap, ln.sku, ctx.ret.currency)
    if cost is not None:
        return cost, f"{ctx.platform.profile.short_name} item cost"
    ret = ctx.ret
    ctx.problem("cost_unknown",
                f"Return {ret.rma_number}, line {index + 1} (SKU {ln.sku}, {ln.disposition}): the unit cost is "
                f"unknown — the RMS sent no unit_cost and {ctx.ledger} has no item with that SKU and a purchase "
                f"cost in {ret.currency}, so its cost of goods cannot be moved (the app never guesses a cost): "
                f"someone must record the unit cost of SKU {ln.sku} in the RMS (a new revision of the return), or "
                f"an accountant must set the purchase cost on the {ctx.ledger} item {ln.sku}, then retry; or an "
                "admin switches “Returned goods” off for this organization on the Settings page.",
                f"lines[{index}].unit_cost")
    return None


def goods_lines(ctx: Ctx, through_items: frozenset[int] = frozenset()) -> list[JournalLine]:
    """The goods journal's lines of ``ctx.ret`` (empty when goods posting is off or nothing moves);
    lines in ``through_items`` go back into the ledger's tracked items instead (``tracked.py``)."""
    out: list[JournalLine] = []
    for i, ln in enumerate(ctx.ret.lines):
        component = goods_debit(ln, ctx.settings)
        if component is None or i in through_items:
            continue
        found = unit_cost(ctx, i, ln)
        if found is None:
            continue
        cost, source = found
        amount = line_net(cost, ln.quantity)
        if amount.is_zero():
            continue
        f = f"lines[{i}]"
        dr = ctx.target(ctx.context(component, reason_code=ln.reason_code, disposition=ln.disposition), f)
        cr = ctx.target(ctx.context(Component.COGS, reason_code=ln.reason_code, disposition=ln.disposition), f)
        memo = f"{ln.sku} × {ln.quantity} at {cost.amount} ({source})"
        out.append(line(*ctx.acct(dr), amount, f"{memo} {_WHAT[component]}", debit=True, component=component))
        out.append(line(*ctx.acct(cr), amount, f"{memo} out of cost of goods sold", debit=False,
                        component=Component.COGS))
    return out


def goods_journal(ctx: Ctx, through_items: frozenset[int] = frozenset()) -> SideJournal | None:
    """The goods journal beside the return's sales form; ``None`` when it has no line."""
    lines = goods_lines(ctx, through_items)
    if not lines:
        return None
    return SideJournal("goods_journal", "returned goods at cost", tuple(lines), frozenset(), None)
