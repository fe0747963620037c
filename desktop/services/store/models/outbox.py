"""The durable outbox of ledger documents, plus sync run history and pull cursors.

Every document the ledger should receive is written here first, keyed by a deterministic
idempotency key, and then claimed, sent and settled by the sync engine (DESIGN §7). Claims use
the ``(status, next_attempt_at)`` index; on PostgreSQL workers claim with
``FOR UPDATE SKIP LOCKED``, on SQLite inside a ``write_session``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from desktop.services.core.enums import OutboxStatus, Platform, SyncRunStatus
from desktop.services.store.models.base import CODE, CURRENCY, KEY, Base, BigIntPK, str_enum
from desktop.services.store.money_columns import OptionalMoneyField


class OutboxDocument(Base):
    __tablename__ = "outbox_documents"
    __table_args__ = (
        Index("ix_outbox_documents_claim", "status", "next_attempt_at"),
        Index("ix_outbox_documents_org_status", "organization_id", "status"),
        Index("ix_outbox_documents_remote", "connection_id", "remote_id"),
        Index("ix_outbox_documents_run", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_connections.id", ondelete="SET NULL")
    )
    idempotency_key: Mapped[str] = mapped_column(String(KEY), unique=True)
    #: The return revision this document posts; NULL for summary-mode documents (a day's batch).
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(40))  # refund, fee_journal, label_cost, summary, …
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, "platform"))
    doc_type: Mapped[str] = mapped_column(String(40))  # CreditMemo, RefundReceipt, CreditNote, …
    txn_date: Mapped[date | None] = mapped_column(Date)  # the organization's local ledger date
    total_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(CURRENCY))
    payload: Mapped[dict[str, Any]]
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    remote_id: Mapped[str | None] = mapped_column(String(CODE))
    remote_number: Mapped[str | None] = mapped_column(String(CODE))
    #: The number a person typed when they entered this document in the ledger by hand (status
    #: awaiting_adoption): what adoption looks for.
    awaiting_number: Mapped[str | None] = mapped_column(String(CODE))
    sync_token: Mapped[str | None] = mapped_column(String(32))  # QBO SyncToken
    #: What pull last saw in the ledger: edited / voided / deleted / refunded (NULL: as posted).
    remote_state: Mapped[str | None] = mapped_column(String(32))
    remote_updated_at: Mapped[datetime | None]
    last_error: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    #: Key of a document that must be posted first (a Xero refund Payment pays its CreditNote).
    depends_on: Mapped[str | None] = mapped_column(String(KEY))
    #: Committed just before each send: a reclaimed in_flight row with it may have landed → uncertain.
    sent_at: Mapped[datetime | None]
    #: When the RMS was told this document's revision is posted (write-back); NULL until then.
    written_back_at: Mapped[datetime | None]
    #: The push run that posted it (NULL: not posted, or posted before runs were recorded).
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))

    total = OptionalMoneyField("total_minor")


class SyncRun(Base):
    """One run of a sync job (pull, push, ledger pull, reference refresh, reconcile…)."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_org_kind_started", "organization_id", "kind", "started_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: NULL for a run across every organization.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str | None] = mapped_column(String(32))  # scheduled / manual / webhook
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[SyncRunStatus] = mapped_column(str_enum(SyncRunStatus, "status"))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[dict[str, Any] | None]


class SyncCursor(Base):
    """Where a pull left off, per organization and source (RMS cursor, QBO CDC time, …)."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("organization_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(CODE))
    cursor_value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
