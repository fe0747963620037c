"""Write a ledger's reference data into the local cache tables (replace per connection).

Besides the tables: what an item says about its goods rides in its ``raw`` under
:data:`~desktop.services.platforms.base.STOCK_KEY` (read with :func:`item_stock`), and the vendors
/ suppliers goods go back to are kept in the connection's ``company`` JSON under ``vendors`` (read
with :func:`stored_vendors`) — no table of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.core.exact_json import to_decimal_or_none
from desktop.services.core.money import Money
from desktop.services.platforms.base import STOCK_KEY, CompanyInfo, RefKind, RefRecord
from desktop.services.store.db import Database
from desktop.services.store.models import REF_TABLES, LedgerConnection, RefCustomer


def _rate(rec: RefRecord) -> Decimal | None:
    value = rec.raw.get("EffectiveRate", rec.raw.get("DisplayTaxRate"))
    return to_decimal_or_none(value)


def _columns(rec: RefRecord) -> dict[str, Any]:
    """The kind-specific columns of one record."""
    status = rec.raw.get("Status") or rec.raw.get("ContactStatus") or ("ACTIVE" if rec.active else "INACTIVE")
    common: dict[str, Any] = {"name": rec.name[:255], "type": rec.type, "status": str(status), "active": rec.active,
                              "raw": rec.raw}
    if rec.kind is RefKind.ACCOUNT:
        return {**common, "code": rec.code, "currency": rec.currency,
                "subtype": rec.raw.get("AccountSubType") or rec.raw.get("Class")}
    if rec.kind is RefKind.TAX_CODE:
        return {**common, "rate": _rate(rec)}
    if rec.kind is RefKind.ITEM:
        return {**common, "sku": rec.raw.get("Sku") or rec.code, "income_account_remote_id": rec.parent_id}
    if rec.kind is RefKind.CUSTOMER:
        return {**common, "email": rec.code}
    return {**common, "kind": (rec.type or "option").lower(), "parent_remote_id": rec.parent_id}


def _key(kind: RefKind, remote_id: str, sub_kind: str | None) -> tuple[str, str]:
    """Rows are unique per remote id, except tracking: QBO class 3 and department 3 both exist."""
    return ((sub_kind or "") if kind is RefKind.TRACKING else "", remote_id)


def store_reference_data(db: Database, connection_id: int, info: CompanyInfo,
                         data: dict[RefKind, list[RefRecord]], now: datetime) -> dict[str, int]:
    """Upsert every record by (connection, remote id); drop what the ledger no longer has."""
    counts: dict[str, int] = {}
    with db.write_session() as s:
        for kind, records in data.items():
            model = REF_TABLES.get(kind)
            if model is None:
                continue
            existing = {_key(kind, row.remote_id, getattr(row, "kind", None)): row for row in s.execute(
                sa.select(model).where(model.connection_id == connection_id)).scalars()}
            seen = _upsert(s, model, kind, connection_id, records, existing, now)
            for key, row in existing.items():
                if key not in seen:
                    s.delete(row)
            counts[kind.value] = len(seen)
        currencies = [r.code or r.remote_id for r in data.get(RefKind.CURRENCY, [])]
        conn = s.get(LedgerConnection, connection_id)
        previous_vendors = (conn.company or {}).get("vendors") if conn is not None else None
        if conn is not None:
            conn.company = {"home_currency": info.home_currency,
                            "currencies": sorted(set(currencies) | set(info.currencies)),
                            "country": info.country, "multicurrency": info.multicurrency,
                            "closed_through": info.closed_through.isoformat() if info.closed_through else None}
            if RefKind.VENDOR in data:
                conn.company["vendors"] = [_vendor_json(v) for v in data[RefKind.VENDOR]]
            elif previous_vendors is not None:
                conn.company["vendors"] = previous_vendors
            conn.company_name = info.name
            conn.reference_fetched_at = now
        counts["currency"] = len(currencies)
        if RefKind.VENDOR in data:
            counts["vendor"] = len(data[RefKind.VENDOR])
    return counts


def _vendor_json(rec: RefRecord) -> dict[str, Any]:
    return {"id": rec.remote_id, "name": rec.name[:255], "email": rec.code, "currency": rec.currency,
            "active": rec.active}


def stored_vendors(session: Session, connection_id: int) -> list[RefRecord]:
    """The vendors (QBO) / suppliers (Xero) the last reference refresh found, as records."""
    conn = session.get(LedgerConnection, connection_id)
    rows = (conn.company or {}).get("vendors") if conn is not None else None
    return [RefRecord(RefKind.VENDOR, str(v["id"]), str(v.get("name") or ""), code=v.get("email"),
                      active=bool(v.get("active", True)), currency=v.get("currency"))
            for v in rows or [] if isinstance(v, dict) and v.get("id")]


@dataclass(frozen=True)
class ItemStock:
    """What the ledger says about one item's goods (see :data:`STOCK_KEY`), platform-neutral.

    ``cost`` is the cost a person entered (QBO ``PurchaseCost``, Xero ``PurchaseDetails.UnitPrice``),
    ``average_cost`` the average the ledger keeps where it reports one (QBO ``AvgCost``, Xero
    ``TotalCostPool`` / ``QuantityOnHand``) — both in the home currency. Accounts are remote ids
    (Xero's codes resolved through the account records given to :func:`item_stock`; None when
    they could not be).
    """

    item_id: str
    sku: str | None
    tracked: bool
    cost: Money | None
    average_cost: Money | None
    asset_account: str | None
    cogs_account: str | None
    qty_on_hand: Decimal | None


def item_stock(item: RefRecord, home_currency: str, accounts: Iterable[RefRecord] = ()) -> ItemStock:
    """An item record's :class:`ItemStock` (an item read before this existed: untracked, no cost)."""
    facts: Mapping[str, Any] = item.raw.get(STOCK_KEY) or {}
    by_code = {a.code: a.remote_id for a in accounts if a.code} if facts.get("accounts_by") == "code" else None

    def account(value: Any) -> str | None:
        if not value:
            return None
        return by_code.get(str(value)) if by_code is not None else str(value)

    def money(value: Any) -> Money | None:
        amount = to_decimal_or_none(value)
        return Money(amount, home_currency) if amount is not None else None

    return ItemStock(item.remote_id, item.raw.get("Sku") or item.code, bool(facts.get("tracked")),
                     money(facts.get("cost")), money(facts.get("average_cost")), account(facts.get("asset_account")),
                     account(facts.get("cogs_account")), to_decimal_or_none(facts.get("qty_on_hand")))


def items_by_sku(items: Iterable[RefRecord], home_currency: str,
                 accounts: Iterable[RefRecord] = ()) -> dict[str, ItemStock]:
    """Every active item with a SKU, by SKU (QBO ``Sku``, Xero ``Code``)."""
    accounts = list(accounts)
    out: dict[str, ItemStock] = {}
    for item in items:
        stock = item_stock(item, home_currency, accounts)
        if item.active and stock.sku:
            out.setdefault(stock.sku, stock)
    return out


def remember_customers(db: Database, connection_id: int, records: list[RefRecord], now: datetime) -> int:
    """Add or update customers the poster found or created, keeping the rest of the cache.

    The next plan then resolves those people from the cache instead of leaving a placeholder for
    the poster to look up again; a full refresh later replaces them like any other record.
    Returns how many rows were added.
    """
    if not records:
        return 0
    kind = RefKind.CUSTOMER
    with db.write_session() as s:
        existing = {_key(kind, row.remote_id, None): row for row in s.execute(sa.select(RefCustomer).where(
            RefCustomer.connection_id == connection_id, RefCustomer.remote_id.in_([r.remote_id for r in records])
        )).scalars()}
        seen = _upsert(s, RefCustomer, kind, connection_id, records, existing, now)
    return len(seen - set(existing))


def _upsert(s: Session, model: Any, kind: RefKind, connection_id: int, records: list[RefRecord],
            existing: dict[tuple[str, str], Any], now: datetime) -> set[tuple[str, str]]:
    """Insert or update ``records`` (the first of any repeated key wins); returns the keys seen."""
    seen: set[tuple[str, str]] = set()
    for rec in records:
        values = _columns(rec)
        key = _key(kind, rec.remote_id, values.get("kind"))
        if key in seen:
            continue
        seen.add(key)
        row = existing.get(key)
        if row is None:
            s.add(model(connection_id=connection_id, remote_id=rec.remote_id, fetched_at=now, **values))
        else:
            for column, value in values.items():
                setattr(row, column, value)
            row.fetched_at = now
    return seen
