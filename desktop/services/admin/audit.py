"""The append-only, hash-chained audit log.

Each entry's hash covers its content and the previous entry's hash, so editing, deleting or
reordering any entry breaks the chain from that point on; :func:`verify_chain` finds where.
The table also refuses UPDATE and DELETE by trigger (see the store's migration). Appends are
serialized: SQLite allows one writer; on PostgreSQL a transaction-scoped advisory lock orders
concurrent appenders so two entries never claim the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.core.clock import Clock
from desktop.services.core.events import json_safe, redact
from desktop.services.store.models import AuditLog

GENESIS = "0" * 64
_LOCK_KEY = 0x5E7A_0D17  # pg_advisory_xact_lock key for audit appends


def _digest(prev_hash: str, occurred_at: str, actor: str, action: str, target: str | None,
            organization_id: int | None, details: Any) -> str:
    payload = json.dumps([prev_hash, occurred_at, actor, action, target, organization_id, details],
                         sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def _details(details: dict[str, Any] | None) -> dict[str, Any]:
    clean: dict[str, Any] = json_safe(redact(details or {}))
    return clean


def append(session: Session, clock: Clock, *, actor: str, action: str, target: str | None = None,
           organization_id: int | None = None, details: dict[str, Any] | None = None) -> AuditLog:
    """Add one entry in the caller's (write) transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = session.execute(sa.select(AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)).scalar()
    prev = last or GENESIS
    at = clock.now()
    clean = _details(details)
    entry = AuditLog(occurred_at=at, actor=actor, action=action, target=target, organization_id=organization_id,
                     details=clean, prev_hash=prev,
                     hash=_digest(prev, at.isoformat(), actor, action, target, organization_id, clean))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    intact: bool
    first_broken_seq: int | None = None
    reason: str = ""


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in order; report the first entry that does not follow."""
    prev = GENESIS
    count = 0
    for row in session.execute(sa.select(AuditLog).order_by(AuditLog.seq)).scalars():
        count += 1
        if row.prev_hash != prev:
            return ChainReport(count, False, row.seq, "an entry before this one was removed or changed")
        expected = _digest(prev, row.occurred_at.isoformat(), row.actor, row.action, row.target,
                           row.organization_id, row.details)
        if row.hash != expected:
            return ChainReport(count, False, row.seq, "this entry was changed after it was written")
        prev = row.hash
    return ChainReport(count, True)
