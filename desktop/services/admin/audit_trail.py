"""Reading the audit log for people: filtered, sorted pages, the chain check, and a full export.

``desktop.services.admin.audit`` writes and verifies the hash chain; this module is the read side the
Audit log page uses. Pages are windowed queries (``LIMIT``/``OFFSET`` over an indexed order), so
a log of a million entries opens as fast as one of ten. Anyone may read the audit log — auditors
are viewers — so reading requires ``Action.VIEW`` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from desktop.services.admin.audit import ChainReport, verify_chain
from desktop.services.auth.roles import Action, Actor
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog, Organization

__all__ = ["CATEGORIES", "SORT_KEYS", "AuditEntry", "AuditFilter", "AuditTrail"]

#: What a person filters by, and the action prefixes each means.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Sync attempts and failures": ("document.", "sync.", "outbox."),
    "Resolutions": ("error.", "variance.", "reconciliation."),
    "Mapping changes": ("mapping.",),
    "Connection changes": ("connection.", "oauth_app.", "ledger_app."),
    "Manual entries": ("manual.", "manual_entry."),
    "Users and permissions": ("user.", "role.", "permission."),
    "Settings": ("setting.", "settings."),
}
SORT_KEYS = ("seq", "occurred_at", "actor", "action", "target", "organization")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    target: str | None
    organization: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditFilter:
    """Every field narrows; empty means no restriction."""

    text: str = ""
    category: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "seq"
    descending: bool = True


class AuditTrail:
    """The audit log's read side."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _select(self, flt: AuditFilter) -> Any:
        stmt: Any = sa.select(AuditLog, Organization.code).outerjoin(Organization,
                                                                Organization.id == AuditLog.organization_id)
        if flt.category:
            prefixes = CATEGORIES.get(flt.category, ())
            stmt = stmt.where(sa.or_(*[AuditLog.action.startswith(p) for p in prefixes]) if prefixes else sa.false())
        if flt.actor:
            stmt = stmt.where(AuditLog.actor == flt.actor)
        if flt.since is not None:
            stmt = stmt.where(AuditLog.occurred_at >= flt.since)
        if flt.until is not None:
            stmt = stmt.where(AuditLog.occurred_at < flt.until)
        text = flt.text.strip().lower()
        if text:
            like = f"%{text.replace('%', '').replace('_', '')}%"
            fields = (AuditLog.actor, AuditLog.action, sa.func.coalesce(AuditLog.target, ""),
                      sa.func.coalesce(Organization.code, ""))
            stmt = stmt.where(sa.or_(*[sa.func.lower(f).like(like) for f in fields]))
        return stmt

    def count(self, actor: Actor, flt: AuditFilter) -> int:
        actor.require(Action.VIEW)
        with self._db.session() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(self._select(flt).subquery())) or 0)

    def page(self, actor: Actor, flt: AuditFilter, offset: int, limit: int) -> list[AuditEntry]:
        """One window of matching entries in the filter's order (ties broken by sequence)."""
        actor.require(Action.VIEW)
        columns: dict[str, Any] = {"seq": AuditLog.seq, "occurred_at": AuditLog.occurred_at, "actor": AuditLog.actor,
                   "action": AuditLog.action, "target": AuditLog.target, "organization": Organization.code}
        key: Any = columns.get(flt.sort, AuditLog.seq)
        order = [key.desc(), AuditLog.seq.desc()] if flt.descending else [key.asc(), AuditLog.seq.asc()]
        with self._db.session() as s:
            rows = s.execute(self._select(flt).order_by(*order).offset(offset).limit(limit)).all()
            return [_entry(row, code) for row, code in rows]

    def iter_all(self, actor: Actor, flt: AuditFilter, chunk: int = 2000) -> Iterator[AuditEntry]:
        """Every matching entry, in pages (for exports)."""
        offset = 0
        while True:
            batch = self.page(actor, flt, offset, chunk)
            yield from batch
            if len(batch) < chunk:
                return
            offset += chunk

    def actors(self, actor: Actor) -> list[str]:
        actor.require(Action.VIEW)
        with self._db.session() as s:
            return list(s.scalars(sa.select(AuditLog.actor).distinct().order_by(AuditLog.actor)))

    def verify(self, actor: Actor) -> ChainReport:
        """Recompute the hash chain (the whole log, in order)."""
        actor.require(Action.VIEW)
        with self._db.session() as s:
            return verify_chain(s)


def _entry(row: AuditLog, code: str | None) -> AuditEntry:
    return AuditEntry(row.seq, row.occurred_at, row.actor, row.action, row.target, code, dict(row.details or {}),
                      row.prev_hash, row.hash)
