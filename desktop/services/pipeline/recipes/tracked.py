"""Returned goods through the ledger's own inventory items (issue 16, item 1, the tracked path).

When the organization posts returned goods (``goods_posting`` not ``off``) and the ledger tracks a
returned line's SKU as inventory (the reference cache's :class:`~desktop.services.connections.refcache.ItemStock`
says ``tracked``, with its asset and cost of goods sold accounts), the goods of a line that goes back
on the shelf (``RESTOCK``, ``REFURBISH``) do **not** post a goods journal: the sales form's line
carries the ledger's inventory item and its quantity, and the ledger itself raises the quantity on
hand and books Dr inventory asset, Cr cost of goods sold at *its* cost (QuickBooks: the item's cost;
Xero: its average cost). Journaling the same cost as well would count it twice.

One rule, written here for every platform; which lines take it is a platform-neutral fact on the
piece (:attr:`~.shapes.Piece.stock`), and each renderer translates it (QBO: the line's ``ItemRef``
with ``Qty`` and ``UnitPrice``; Xero: the line's ``ItemCode`` and ``Quantity``). A line stays on the
journal path when:

- its disposition is not back-in-stock (``SCRAP`` — see below — or ``RETURN_TO_VENDOR``);
- the ledger has no active tracked item for the SKU, or the item's asset / COGS account is unknown;
- the line's amount is not exactly quantity × unit price (a tracked line needs both);
- the return is a dearer exchange (its sales form posts negated, as a sale: a negative quantity of a
  tracked item would be a sale out of stock, not a return into it).

**Damaged goods of a tracked SKU** (``SCRAP``): no restock. The goods never go back on the shelf,
so raising the quantity on hand and then writing it off again would need an inventory adjustment
(which neither API posts through a sales form) and would show stock that never existed in between.
The line is an ordinary sales line, and the goods journal writes Dr inventory write-off, Cr cost of
goods sold at **the item's cost** (average cost, else purchase cost — the cost the ledger booked
the sale's cost of goods at) when the return is in the home currency, else the RMS's unit cost
(``goods.py``); the inventory asset account is not touched. ``damaged_goods = no_inventory_effect``
still posts nothing.

The preview shows what the ledger will book for a tracked line as two lines on the sales form's own
journal — Dr the item's asset account, Cr its COGS account — at an estimate (the item's average
cost, else its purchase cost, in the home currency; the RMS's unit cost for a foreign return; no
lines when neither is known), each memo saying the ledger posts it through the item. Those lines
balance each other, so the form's total and refund are unchanged.

Daily-summary organizations keep the goods journal for every line: a summary has no sales form to
carry an item on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from desktop.services.connections.refcache import ItemStock, items_by_sku
from desktop.services.core.domain import DISPOSITION_EFFECTS, Component, GoodsEffect, GoodsPosting, ReturnLine
from desktop.services.core.money import Money
from desktop.services.mapping.model import MappingTarget
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.documents import JournalLine, line
from desktop.services.pipeline.recipes.arith import line_net
from desktop.services.pipeline.recipes.shapes import Piece, RecipeContext

__all__ = ["booked_target", "item_cost_of", "stock_for", "tracked_effect_lines", "tracked_pieces"]

#: Per-snapshot index of item stock by SKU (keyed by the identity of the snapshot's item mapping,
#: which the entry keeps alive so the id cannot be reused while cached).
_INDEX: dict[int, tuple[object, dict[str, ItemStock]]] = {}


def _stock_index(snap: ReferenceSnapshot) -> dict[str, ItemStock]:
    key = id(snap.items)
    hit = _INDEX.get(key)
    if hit is not None and hit[0] is snap.items:
        return hit[1]
    found = items_by_sku(snap.items.values(), snap.home_currency, snap.accounts.values())
    if len(_INDEX) >= 8:
        _INDEX.clear()
    _INDEX[key] = (snap.items, found)
    return found


def stock_for(ctx: RecipeContext, ln: ReturnLine) -> ItemStock | None:
    """The ledger's tracked inventory item for ``ln``'s SKU when goods post; ``None`` otherwise."""
    if ctx.settings.goods_posting is GoodsPosting.OFF or not ln.sku:
        return None
    stock = _stock_index(ctx.snap).get(ln.sku)
    if stock is None or not stock.tracked or not stock.asset_account or not stock.cogs_account:
        return None
    return stock


def item_cost_of(stock: ItemStock, currency: str) -> Money | None:
    """The item's cost in ``currency`` (its average cost, else its purchase cost; home currency only)."""
    for cost in (stock.average_cost, stock.cost):
        if cost is not None and cost.currency == currency and cost.amount > 0:
            return cost
    return None


def tracked_pieces(ctx: RecipeContext, pieces: list[Piece], *, charge: bool) -> list[Piece]:
    """``pieces`` with each back-in-stock merchandise line of a tracked SKU marked with its item."""
    if charge:
        return pieces
    out = list(pieces)
    for i, ln in enumerate(ctx.ret.lines):
        p = out[i]
        if p.component is not Component.MERCHANDISE or DISPOSITION_EFFECTS.get(ln.disposition) is not (
                GoodsEffect.BACK_IN_STOCK):
            continue
        stock = stock_for(ctx, ln)
        if stock is not None and p.unit_price.amount * p.quantity == p.net.amount:
            out[i] = replace(p, stock=stock)
    return out


def booked_target(piece: Piece, income_from_item: bool) -> MappingTarget | None:
    """Where the ledger books a sales line's amount: a tracked line's item when the platform books an
    item line to the item's own income account (``income_from_item``), else the mapped target."""
    if piece.stock is None or not income_from_item:
        return piece.target
    return MappingTarget(None, item_id=piece.stock.item_id)


def tracked_effect_lines(ctx: RecipeContext, pieces: list[Piece], label: Callable[[str], str]) -> list[JournalLine]:
    """The inventory and COGS lines the ledger books for the tracked pieces (the preview's view)."""
    ret = ctx.ret
    out: list[JournalLine] = []
    for p, ln in zip(pieces, ret.lines, strict=False):
        stock = p.stock
        if stock is None:
            continue
        unit = item_cost_of(stock, ret.currency) or ln.unit_cost
        if unit is None or unit.currency != ret.currency:
            continue
        amount = line_net(unit, p.quantity)
        if amount.is_zero():
            continue
        what = f"{ln.sku} × {p.quantity} at about {unit.amount}: posted by {ctx.ledger} through item {stock.sku}"
        asset, cogs = stock.asset_account or "", stock.cogs_account or ""
        out.append(line(asset, label(asset), amount, f"{what} (back in stock)", debit=True,
                        component=Component.INVENTORY_ASSET))
        out.append(line(cogs, label(cogs), amount, f"{what} (out of cost of goods sold)",
                        debit=False, component=Component.COGS))
    return out
