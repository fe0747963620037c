"""Versioned mapping sets and their rules (RMS codes → ledger accounts, items, tax, tracking).

A set is immutable once used: editing makes a new version, and at most one version per
organization is active (a partial unique index, on both databases). Every match field of a rule
is nullable — NULL means "any" — and resolution (``desktop.services.mapping``) picks the most
specific matching rule, then the highest priority.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desktop.services.store.models.base import CODE, CURRENCY, Base, BigIntPK


class MappingSet(Base):
    __tablename__ = "mapping_sets"
    __table_args__ = (
        UniqueConstraint("organization_id", "version"),
        Index(
            "uq_mapping_sets_one_active", "organization_id", unique=True,
            sqlite_where=text("is_active"), postgresql_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)

    rules: Mapped[list[MappingRule]] = relationship(
        back_populates="mapping_set", cascade="all, delete-orphan", passive_deletes=True
    )


class MappingRule(Base):
    __tablename__ = "mapping_rules"
    __table_args__ = (Index("ix_mapping_rules_set_component", "mapping_set_id", "component"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    mapping_set_id: Mapped[int] = mapped_column(ForeignKey("mapping_sets.id", ondelete="CASCADE"))
    # Match fields: NULL matches anything.
    component: Mapped[str | None] = mapped_column(String(40))
    reason_code: Mapped[str | None] = mapped_column(String(CODE))
    disposition: Mapped[str | None] = mapped_column(String(CODE))
    channel: Mapped[str | None] = mapped_column(String(CODE))
    warehouse: Mapped[str | None] = mapped_column(String(CODE))
    currency: Mapped[str | None] = mapped_column(String(CURRENCY))
    tax_jurisdiction: Mapped[str | None] = mapped_column(String(CODE))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # Targets: remote ids in the organization's ledger (see the ref_* cache tables).
    target_account: Mapped[str | None] = mapped_column(String(CODE))
    target_item: Mapped[str | None] = mapped_column(String(CODE))
    target_tax_code: Mapped[str | None] = mapped_column(String(CODE))
    target_tracking: Mapped[list[Any] | None]  # [{"category": id, "option": id}] / QBO class, dept
    note: Mapped[str | None] = mapped_column(Text)

    mapping_set: Mapped[MappingSet] = relationship(back_populates="rules")
