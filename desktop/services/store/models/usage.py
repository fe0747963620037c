"""Metered ledger calls per connection per day, as the app counted them (issue 14, item 3).

One row per (connection, UTC day): the requests the platform answered, classified as the platform
meters them (:meth:`PlatformProfile.metered`). Written in aggregate — the connection service's
:class:`~desktop.services.connections.usage.UsageRecorder` adds to a row once per sync step or per
few hundred requests, never once per request.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from desktop.services.store.models.base import Base, BigIntPK


class LedgerUsage(Base):
    __tablename__ = "ledger_usage"
    __table_args__ = (UniqueConstraint("connection_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("ledger_connections.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    reads: Mapped[int] = mapped_column(Integer, default=0)
    writes: Mapped[int] = mapped_column(Integer, default=0)
