"""Reconciliation runs and the variances they find; manual ledger entries made during outages.

A variance is one disagreement between RMS, our database and the ledger, classified (missing in
ledger, amount differs, voided in ledger, …) and kept until a person resolves or accepts it. A
manual entry records a document a person entered while sync was down, so the outbox can match
it instead of posting a duplicate.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desktop.services.core.enums import (
    ManualEntryPath,
    ManualEntryStatus,
    ReconciliationStatus,
    VarianceStatus,
)
from desktop.services.store.models.base import CODE, CURRENCY, KEY, Base, BigIntPK, str_enum
from desktop.services.store.money_columns import OptionalMoneyField


class ReconciliationRun(Base):
    __tablename__ = "reconciliation_runs"
    __table_args__ = (Index("ix_reconciliation_runs_org_started", "organization_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[ReconciliationStatus] = mapped_column(str_enum(ReconciliationStatus, "status"))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)

    variances: Mapped[list[Variance]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class Variance(Base):
    __tablename__ = "variances"
    __table_args__ = (
        Index("ix_variances_run_status", "run_id", "status"),
        Index("ix_variances_status_class", "status", "variance_class"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id", ondelete="CASCADE"))
    variance_class: Mapped[str] = mapped_column(String(40))
    rma: Mapped[str | None] = mapped_column(String(CODE), index=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id", ondelete="SET NULL"))
    outbox_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_documents.id", ondelete="SET NULL")
    )
    ledger_id: Mapped[str | None] = mapped_column(String(CODE))
    #: Signed difference (ledger − RMS) for sorting by size; the details are in ``fields``.
    difference_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(CURRENCY))
    fields: Mapped[dict[str, Any]]  # {"field": {"rms": …, "local": …, "ledger": …}}
    status: Mapped[VarianceStatus] = mapped_column(
        str_enum(VarianceStatus, "status"), default=VarianceStatus.OPEN
    )
    note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None]

    difference = OptionalMoneyField("difference_minor")

    run: Mapped[ReconciliationRun] = relationship(back_populates="variances")


class ManualEntry(Base):
    __tablename__ = "manual_entries"
    __table_args__ = (Index("ix_manual_entries_org_rma", "organization_id", "rma"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    rma: Mapped[str] = mapped_column(String(CODE))
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id", ondelete="SET NULL"))
    path: Mapped[ManualEntryPath] = mapped_column(str_enum(ManualEntryPath, "path"))
    #: Same key scheme as the outbox, so a manual entry and an automatic post can never both land.
    idempotency_key: Mapped[str | None] = mapped_column(String(KEY), unique=True)
    outbox_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_documents.id", ondelete="SET NULL")
    )
    ledger_doc_number: Mapped[str | None] = mapped_column(String(CODE))
    payload: Mapped[dict[str, Any]]
    status: Mapped[ManualEntryStatus] = mapped_column(str_enum(ManualEntryStatus, "status"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
