"""The event log (what happened, for the live error pane and alerts) and the audit log.

``event_log`` mirrors :class:`desktop.services.core.events.Event` plus a numeric ``level`` so
"WARNING and worse" is an indexed range query. ``audit_log`` is append-only and sealed:
each row stores the previous row's seal and its own (HMAC-SHA256, see ``desktop.services.admin.audit``,
which computes and verifies them). The initial migration also installs triggers on both databases that refuse
UPDATE and DELETE on ``audit_log``, so an honest bug cannot rewrite history (tampering with the
file itself is what the seals detect).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from desktop.services.store.models.base import CODE, KEY, Base, BigIntPK


class EventLog(Base):
    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_level_id", "level", "id"),
        Index("ix_event_log_org_id", "org", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)  # Severity.rank: the logging numbers 10…50
    message: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    org: Mapped[str | None] = mapped_column(String(CODE))  # organization code, not an FK:
    rma: Mapped[str | None] = mapped_column(String(CODE))  # events outlive what they mention
    document_key: Mapped[str | None] = mapped_column(String(KEY))
    platform: Mapped[str | None] = mapped_column(String(16))
    platform_code: Mapped[str | None] = mapped_column(String(CODE))
    platform_message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    #: Set when a person marks the problem handled (``desktop.services.queries.errors``); the event
    #: itself never changes, so these three are the only columns ever updated.
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution_note: Mapped[str | None] = mapped_column(Text)


class AuditLog(Base):
    """One audit entry. ``seq`` is assigned by the appender (contiguous, no gaps); ``hash`` is the
    entry's seal — HMAC-SHA256 under the key ``key_id`` names — or, for entries written before
    migration 0003 (``key_id`` NULL), their plain SHA-256 link. ``keyed_from`` is set on the first
    sealed entry only (= its own ``seq``): the boundary after which every entry must be sealed."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str | None] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"),
                                                        index=True)
    rma: Mapped[str | None] = mapped_column(String(CODE), index=True)  # the return an entry is about
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))  # the previous entry's seal; all zeros for the first
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str | None] = mapped_column(String(16))  # fingerprint of the sealing key; NULL: legacy
    keyed_from: Mapped[int | None] = mapped_column(BigInteger)
