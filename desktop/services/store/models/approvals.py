"""Maker-checker requests: what one person asked to do, waiting for a second person's decision.

The request stays outside the outbox: nothing of a money request reaches the outbox (or the
ledger) until it is approved, and then the owner of the action does it — in the same transaction
as the decision (``desktop.services.admin.approvals``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from desktop.services.core.enums import ApprovalKind, ApprovalStatus
from desktop.services.store.models.base import CURRENCY, KEY, Base, BigIntPK, str_enum
from desktop.services.store.money_columns import OptionalMoneyField


class ApprovalRequest(Base):
    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_status_org", "status", "organization_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    kind: Mapped[ApprovalKind] = mapped_column(str_enum(ApprovalKind, "kind"))
    #: What it is about: an RMA, a document key, ``variance:N``, ``mapping_set:ORG:vN``.
    target: Mapped[str] = mapped_column(String(KEY))
    summary: Mapped[str] = mapped_column(Text)
    #: What the owner of the action needs to do it once approved (the form, the plan's inputs, the version).
    payload: Mapped[dict[str, Any]]
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(CURRENCY))
    #: The amount in the organization's home currency, as compared with the threshold (None: no rate).
    home_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    home_currency: Mapped[str | None] = mapped_column(String(CURRENCY))
    status: Mapped[ApprovalStatus] = mapped_column(str_enum(ApprovalStatus, "status"), default=ApprovalStatus.PENDING)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    amount = OptionalMoneyField("amount_minor")
    home_amount = OptionalMoneyField("home_amount_minor", "home_currency")
