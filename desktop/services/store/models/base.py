"""The declarative base, constraint naming, and the column helpers every model shares.

Constraint and index names follow one convention so Alembic migrations (and SQLite batch
rebuilds, which need names) are deterministic on both databases. Timestamps have no database
default on purpose: the caller passes the injected clock's ``now()``, so tests control time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Enum, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from desktop.services.store.coltypes import ExactDecimal, ExactJSON, UTCDateTime

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Surrogate keys of high-volume tables: BIGINT on PostgreSQL; INTEGER on SQLite, where only
#: ``INTEGER PRIMARY KEY`` is the auto-incrementing rowid (SQLite integers are 64-bit anyway).
BigIntPK: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")

#: Lengths used across tables, so the same thing has the same width everywhere.
CODE = 64        # remote ids, RMS ids, codes, reason codes
NAME = 255       # display names
KEY = 128        # idempotency keys, document keys
CURRENCY = 3     # ISO 4217


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute by name
        datetime: UTCDateTime(),
        Decimal: ExactDecimal(),
        dict[str, Any]: ExactJSON(),
        list[Any]: ExactJSON(),
        Any: ExactJSON(),
    }


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A non-native enum column type: VARCHAR plus a named CHECK constraint of the values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls) + 8,  # room to grow without a column change
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


def currency_column(*, nullable: bool = False) -> Mapped[Any]:
    """An ISO 4217 code column (three uppercase letters by convention; the Money type checks)."""
    return mapped_column(String(CURRENCY), nullable=nullable)
