"""A local mirror of one connection's ledger documents, kept current by the change feed (issue 14, item 3).

Reconciliation used to re-read a period's documents from the ledger every run, paged to
exhaustion: metered reads (QuickBooks bills them; Xero counts every call against a daily limit).
:class:`LedgerMirrorDoc` holds each document of the kinds we post as the ledger last answered it
(its raw JSON, so the one normalisation of :func:`~desktop.services.reconcile.ledger_read.ledger_doc`
applies); :class:`LedgerMirrorState` says from which change-feed mark it is current and which date
ranges were fully read since (see :mod:`desktop.services.reconcile.mirror`).

``deleted``: the feed said the document no longer exists (a removal notice without a date, which
then leaves the row out of every period); a document the ledger still lists with a deleted status
keeps its date and raw like any other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from desktop.services.store.models.base import CODE, Base, BigIntPK


class LedgerMirrorDoc(Base):
    __tablename__ = "ledger_mirror_docs"
    __table_args__ = (UniqueConstraint("connection_id", "doc_type", "remote_id"),
                      Index("ix_ledger_mirror_docs_dated", "connection_id", "txn_date"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id", ondelete="CASCADE"))
    doc_type: Mapped[str] = mapped_column(String(40))
    remote_id: Mapped[str] = mapped_column(String(CODE))
    txn_date: Mapped[date | None] = mapped_column(Date)
    raw: Mapped[dict[str, Any]]
    remote_updated_at: Mapped[datetime | None]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime]


class LedgerMirrorState(Base):
    __tablename__ = "ledger_mirror_state"

    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id", ondelete="CASCADE"),
                                               primary_key=True, autoincrement=False)
    cursor: Mapped[str | None] = mapped_column(Text)
    #: Date ranges read in full since ``cursor``'s feed began: ``[["2026-12-01", "2027-12-31"], …]``.
    covered: Mapped[list[Any]]
    full_reads: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]
