"""Organizations, their ledger connections, users and settings.

A ledger connection row holds only what is safe to show and query: which company, which
environment, whether it works, when tokens expire. Tokens and secrets live in the OS keyring
(``desktop.services.auth.vault``), never here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desktop.services.core.enums import (
    ConnectionStatus,
    LedgerEnvironment,
    Platform,
    UserRole,
)
from desktop.services.store.models.base import CODE, CURRENCY, NAME, Base, str_enum


class Organization(Base):
    """A client company whose returns we post to its ledger."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(NAME))
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, "platform"))
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name; the ledger date is local
    home_currency: Mapped[str] = mapped_column(String(CURRENCY))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    connections: Mapped[list[LedgerConnection]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", passive_deletes=True
    )


class LedgerConnection(Base):
    """One OAuth connection from an organization to a QBO company (realm) or Xero tenant."""

    __tablename__ = "ledger_connections"
    __table_args__ = (
        UniqueConstraint(
            "organization_id", "platform", "environment", "remote_id", name="uq_ledger_connections_company"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, "platform"))
    environment: Mapped[LedgerEnvironment] = mapped_column(str_enum(LedgerEnvironment, "environment"))
    remote_id: Mapped[str] = mapped_column(String(CODE))  # QBO realmId / Xero tenantId
    company_name: Mapped[str | None] = mapped_column(String(NAME))
    # The key of this connection's entries in the OS keyring (a random id, so that two data
    # directories sharing one keyring — a demo and a real install — never share a grant).
    credential_ref: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str | None] = mapped_column(String(200))  # the OAuth app's id (not a secret)
    remote_connection_id: Mapped[str | None] = mapped_column(String(CODE))  # Xero /connections id
    refresh_token_hard_expires_at: Mapped[datetime | None]  # QBO's 5-year cap
    #: What the ledger said about the company: {"home_currency", "currencies": [...],
    #: "closed_through": "YYYY-MM-DD" | null, "country", "multicurrency"}.
    company: Mapped[dict[str, Any] | None]
    reference_fetched_at: Mapped[datetime | None]  # when the reference-data cache was last filled
    status: Mapped[ConnectionStatus] = mapped_column(str_enum(ConnectionStatus, "status"))
    scopes: Mapped[str | None] = mapped_column(Text)
    connected_at: Mapped[datetime | None]
    last_refresh_at: Mapped[datetime | None]
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_expires_at: Mapped[datetime | None]
    last_error: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    organization: Mapped[Organization] = relationship(back_populates="connections")


class User(Base):
    """A person who uses the app; the role decides what the services let them do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(NAME))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "role"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Setting(Base):
    """A setting: global when ``organization_id`` is NULL, else for that organization.

    NULLs are distinct in unique constraints on both databases, so uniqueness is two partial
    unique indexes (one for global keys, one per organization) instead of one constraint.
    """

    __tablename__ = "settings"
    __table_args__ = (
        Index(
            "uq_settings_global_key", "key", unique=True,
            sqlite_where=text("organization_id IS NULL"),
            postgresql_where=text("organization_id IS NULL"),
        ),
        Index(
            "uq_settings_org_key", "organization_id", "key", unique=True,
            sqlite_where=text("organization_id IS NOT NULL"),
            postgresql_where=text("organization_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[Any] = mapped_column(nullable=True)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(100))
