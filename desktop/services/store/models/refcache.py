"""A local cache of each ledger's reference data: accounts, tax codes, items, customers, tracking.

Mapping validation and the mapping editor read these instead of calling the ledger on every
keystroke. Each row is keyed by (connection, remote id) and keeps the raw JSON as fetched, so a
field we did not model yet is still there. ``fetched_at`` says how fresh the copy is.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from desktop.services.store.models.base import CODE, CURRENCY, NAME, Base, BigIntPK


class _RefRow:
    """Columns every reference-cache table has."""

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    remote_id: Mapped[str] = mapped_column(String(CODE))
    name: Mapped[str] = mapped_column(String(NAME))
    type: Mapped[str | None] = mapped_column(String(CODE))  # AccountType / item Type / …
    status: Mapped[str | None] = mapped_column(String(32))  # platform word: ACTIVE, ARCHIVED, …
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    raw: Mapped[dict[str, Any]]
    fetched_at: Mapped[datetime]

    @declared_attr
    def connection_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("ledger_connections.id", ondelete="CASCADE"))


def _ref_table_args(table: str, *key: str) -> tuple[Any, ...]:
    return (
        UniqueConstraint("connection_id", *(key or ("remote_id",))),
        Index(f"ix_{table}_connection_name", "connection_id", "name"),
    )


class RefAccount(_RefRow, Base):
    __tablename__ = "ref_accounts"
    __table_args__ = _ref_table_args("ref_accounts")

    code: Mapped[str | None] = mapped_column(String(32))  # Xero Code / QBO AcctNum
    subtype: Mapped[str | None] = mapped_column(String(CODE))
    currency: Mapped[str | None] = mapped_column(String(CURRENCY))


class RefTaxCode(_RefRow, Base):
    __tablename__ = "ref_tax_codes"
    __table_args__ = _ref_table_args("ref_tax_codes")

    rate: Mapped[Decimal | None]  # effective rate in percent as the ledger states it; exact


class RefItem(_RefRow, Base):
    __tablename__ = "ref_items"
    __table_args__ = _ref_table_args("ref_items")

    sku: Mapped[str | None] = mapped_column(String(100))
    income_account_remote_id: Mapped[str | None] = mapped_column(String(CODE))


class RefCustomer(_RefRow, Base):
    """QBO customers / Xero contacts."""

    __tablename__ = "ref_customers"
    __table_args__ = _ref_table_args("ref_customers")

    email: Mapped[str | None] = mapped_column(String(NAME))


class RefTracking(_RefRow, Base):
    """QBO classes and departments; Xero tracking categories and their options.

    ``kind`` is ``class``, ``department``, ``category`` or ``option``; an option names its
    category in ``parent_remote_id``.
    """

    __tablename__ = "ref_tracking"
    # QBO numbers classes and departments separately, so their ids collide: the kind is part of the key.
    __table_args__ = _ref_table_args("ref_tracking", "kind", "remote_id")

    kind: Mapped[str] = mapped_column(String(32))
    parent_remote_id: Mapped[str | None] = mapped_column(String(CODE))


#: The cache tables by the kind of record they hold (``RefKind`` values), in the order people
#: read them: what the refresh writes into and what the connection details count.
REF_TABLES: dict[str, type[_RefRow]] = {
    "account": RefAccount, "tax_code": RefTaxCode, "item": RefItem, "customer": RefCustomer, "tracking": RefTracking,
}
