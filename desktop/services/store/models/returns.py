"""Returns as the RMS reported them: one row per (organization, RMS id, revision).

Ingest is an idempotent upsert on that key and keeps the raw payload, so a later question
("what exactly did the RMS say?") can always be answered. Lines, fees and tax lines carry their
own currency beside every amount (see :mod:`desktop.services.store.money_columns`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from desktop.services.core.enums import FeeType, RefundMethod, ReturnSyncStatus
from desktop.services.store.models.base import CODE, CURRENCY, NAME, Base, BigIntPK, str_enum
from desktop.services.store.money_columns import MoneyField, OptionalMoneyField


class Return(Base):
    """One revision of one return (RMA) from the RMS."""

    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("organization_id", "rms_id", "revision"),
        Index("ix_returns_org_rma", "organization_id", "rma_number"),
        Index("ix_returns_org_status", "organization_id", "sync_status"),
        Index("ix_returns_org_rms_updated", "organization_id", "rms_updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    rms_id: Mapped[str] = mapped_column(String(CODE))
    revision: Mapped[int] = mapped_column(Integer)
    rma_number: Mapped[str] = mapped_column(String(CODE))
    customer_rms_id: Mapped[str | None] = mapped_column(String(CODE))
    customer_name: Mapped[str | None] = mapped_column(String(NAME))
    customer_email: Mapped[str | None] = mapped_column(String(NAME))
    channel: Mapped[str | None] = mapped_column(String(CODE))
    warehouse: Mapped[str | None] = mapped_column(String(CODE))
    currency: Mapped[str] = mapped_column(String(CURRENCY))
    refund_method: Mapped[RefundMethod] = mapped_column(str_enum(RefundMethod, "refund_method"))
    rms_status: Mapped[str] = mapped_column(String(40))  # the RMS's own word, kept verbatim
    sync_status: Mapped[ReturnSyncStatus] = mapped_column(
        str_enum(ReturnSyncStatus, "sync_status"), default=ReturnSyncStatus.NEW
    )
    #: The refund total the RMS states, for reconciliation against our lines and the ledger.
    refund_total_minor: Mapped[int | None] = mapped_column(BigInteger)
    rms_created_at: Mapped[datetime]
    rms_updated_at: Mapped[datetime]
    ingested_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    raw_payload: Mapped[dict[str, Any]]
    #: Write-back claim (sync.writeback): the worker telling the RMS about this revision, and until
    #: when; an expired lease is a dead worker's and is taken over. NULL when nobody holds it.
    writeback_lease_owner: Mapped[str | None] = mapped_column(String(100))
    writeback_lease_expires_at: Mapped[datetime | None]
    #: How many times an undo took this revision's documents back (their keys and numbers carry it).
    posting_round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    refund_total = OptionalMoneyField("refund_total_minor")

    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="return_", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ReturnLine.line_no",
    )
    fees: Mapped[list[ReturnFee]] = relationship(
        back_populates="return_", cascade="all, delete-orphan", passive_deletes=True
    )
    tax_lines: Mapped[list[ReturnTaxLine]] = relationship(
        back_populates="return_", cascade="all, delete-orphan", passive_deletes=True
    )
    quarantine_reasons: Mapped[list[QuarantineReason]] = relationship(
        back_populates="return_", cascade="all, delete-orphan", passive_deletes=True
    )


class ReturnLine(Base):
    """A returned item: quantity is an exact decimal (fractional units exist), price in minor units."""

    __tablename__ = "return_lines"
    __table_args__ = (UniqueConstraint("return_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    rms_line_id: Mapped[str | None] = mapped_column(String(CODE))
    sku: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[Decimal]
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    line_total_minor: Mapped[int | None] = mapped_column(BigInteger)  # as the RMS states it
    currency: Mapped[str] = mapped_column(String(CURRENCY))
    reason_code: Mapped[str | None] = mapped_column(String(CODE))
    disposition: Mapped[str | None] = mapped_column(String(CODE))
    #: The RMS's cost of one unit (minor units of ``currency``); NULL when the RMS does not know it.
    unit_cost_minor: Mapped[int | None] = mapped_column(BigInteger)

    unit_price = MoneyField("unit_price_minor")
    line_total = OptionalMoneyField("line_total_minor")
    unit_cost = OptionalMoneyField("unit_cost_minor")

    return_: Mapped[Return] = relationship(back_populates="lines")


class _ReturnAmount:
    """Columns of a part of a return that is one amount (a fee, a tax refunded): its own id, the
    return revision it belongs to (deleted with it), and the amount with its currency."""

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(CURRENCY))

    amount = MoneyField("amount_minor")

    @declared_attr
    def return_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), index=True)


class ReturnFee(_ReturnAmount, Base):
    """A fee on a return: withheld from the refund, refunded, or borne by the merchant."""

    __tablename__ = "return_fees"

    fee_type: Mapped[FeeType] = mapped_column(str_enum(FeeType, "fee_type"))
    description: Mapped[str | None] = mapped_column(Text)

    return_: Mapped[Return] = relationship(back_populates="fees")


class ReturnTaxLine(_ReturnAmount, Base):
    """Tax refunded for one jurisdiction, on a line (``return_line_id``) or the whole return."""

    __tablename__ = "return_tax_lines"

    return_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("return_lines.id", ondelete="CASCADE"), index=True
    )
    jurisdiction: Mapped[str] = mapped_column(String(CODE))
    tax_name: Mapped[str | None] = mapped_column(String(NAME))
    rate: Mapped[Decimal | None]  # e.g. 0.0825; exact

    return_: Mapped[Return] = relationship(back_populates="tax_lines")


class QuarantineReason(Base):
    """Why pre-flight stopped a return; open while ``resolved_at`` is NULL."""

    __tablename__ = "quarantine_reasons"
    __table_args__ = (Index("ix_quarantine_reasons_open", "return_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(CODE))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))

    return_: Mapped[Return] = relationship(back_populates="quarantine_reasons")
