"""Reading the audit log for people: filtered, sorted pages, verification, and a full export.

``desktop.services.admin.audit`` writes and verifies the sealed chain; this module is the read side the
Audit log page and ``returns-ledger audit`` use. Verification and every export also compare the
trail with the checkpoint in the data directory and move it forward
(``desktop.services.admin.audit_checkpoint``); an export ends with a checkpoint line.

Pages are windowed queries (``LIMIT``/``OFFSET`` over an indexed order), so a log of a million
entries opens as fast as one of ten. Anyone may read the audit log — auditors
are viewers — so reading requires ``Action.VIEW`` only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.admin.audit import ChainReport
from desktop.services.admin.audit_checkpoint import Checkpoint, database_label, verify_and_checkpoint
from desktop.services.admin.audit_keys import KEYS, AuditKeyring, key_id
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock, SystemClock
from desktop.services.core.csv_safe import export_rows
from desktop.services.core.progress import OperationProgress
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog, Organization

__all__ = ["CATEGORIES", "CSV_HEADER", "SORT_KEYS", "AuditEntry", "AuditExport", "AuditFilter", "AuditTrail"]

#: What a person filters by, and the action prefixes each means.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Documents and sync runs": ("document.", "sync.", "outbox.", "return."),
    "Resolutions": ("error.", "variance.", "reconciliation."),
    "Mapping changes": ("mapping.",),
    "Connection changes": ("connection.", "oauth_app.", "ledger_app."),
    "Manual entries": ("manual.", "manual_entry."),
    "Users and permissions": ("user.", "role.", "permission."),
    "Settings": ("setting.", "settings."),
    "Audit trail": ("audit.",),
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
    rma: str | None = None
    key_id: str | None = None  # None: a legacy entry (plain SHA-256 link, before sealing began)
    keyed_from: int | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Every field narrows; empty means no restriction. ``rma`` matches entries about that return
    (its documents, manual entries, re-plans)."""

    text: str = ""
    category: str | None = None
    actor: str | None = None
    organization: str | None = None
    rma: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "seq"
    descending: bool = True


#: The columns of an export (one row per entry), then one ``# checkpoint`` row.
CSV_HEADER = ["Sequence", "Time (UTC)", "Who", "Action", "Target", "Organization", "Return", "Details",
              "Previous seal", "Seal", "Key"]


@dataclass(frozen=True)
class AuditExport:
    """What an export wrote: entries, the verification it ran first, and the checkpoint its last line names."""

    entries: int
    report: ChainReport
    checkpoint: Checkpoint | None


class AuditTrail:
    """The audit log's read side. ``data_dir`` holds the checkpoint; without one (a PostgreSQL database
    in a test), the trail is verified but not checkpointed. A SQLite file's folder is the default."""

    def __init__(self, db: Database, *, data_dir: Path | None = None, clock: Clock | None = None,
                 keys: AuditKeyring | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._keys = keys or KEYS
        if data_dir is None and db.is_sqlite and db.engine.url.database:
            data_dir = Path(db.engine.url.database).resolve().parent
        self.data_dir = data_dir

    def _select(self, flt: AuditFilter) -> Any:
        stmt: Any = sa.select(AuditLog, Organization.code).outerjoin(Organization,
                                                                Organization.id == AuditLog.organization_id)
        if flt.category:
            prefixes = CATEGORIES.get(flt.category, ())
            stmt = stmt.where(sa.or_(*[AuditLog.action.startswith(p) for p in prefixes]) if prefixes else sa.false())
        if flt.actor:
            stmt = stmt.where(AuditLog.actor == flt.actor)
        if flt.organization:
            stmt = stmt.where(Organization.code == flt.organization)
        if flt.rma and flt.rma.strip():
            stmt = stmt.where(sa.or_(AuditLog.rma == flt.rma.strip(), AuditLog.target == flt.rma.strip()))
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

    def organizations(self, actor: Actor) -> list[str]:
        """Codes of the organizations the log mentions (for the filter)."""
        actor.require(Action.VIEW)
        with self._db.session() as s:
            return list(s.scalars(sa.select(Organization.code).where(
                Organization.id.in_(sa.select(AuditLog.organization_id).distinct())).order_by(Organization.code)))

    def entry(self, actor: Actor, seq: int, *, or_next: bool = False) -> AuditEntry | None:
        """Entry ``seq``; with ``or_next``, the first one from ``seq`` on (``seq`` itself may be missing)."""
        actor.require(Action.VIEW)
        where = AuditLog.seq >= seq if or_next else AuditLog.seq == seq
        with self._db.session() as s:
            found = s.execute(self._select(AuditFilter()).where(where).order_by(AuditLog.seq).limit(1)).first()
            return _entry(found[0], found[1]) if found is not None else None

    def verify(self, actor: Actor) -> ChainReport:
        """Check every seal, the sequence and the links, compare with the checkpoint and move it forward."""
        return self._verify(actor)[0]

    def _verify(self, actor: Actor) -> tuple[ChainReport, Checkpoint | None]:
        actor.require(Action.VIEW)
        with self._db.session() as s:
            return verify_and_checkpoint(s, self.data_dir, database_label(self._db.url), self._clock.now(),
                                         keys=self._keys)

    def export_csv(self, actor: Actor, flt: AuditFilter, path: Path,
                   progress: OperationProgress | None = None) -> AuditExport:
        """Every matching entry as CSV (formula-safe), verified first; the last line is the checkpoint.

        ``progress`` hears entries written of the total; a cancel (or a failure) leaves no file."""
        report, checkpoint = self._verify(actor)
        total = self.count(actor, flt) if progress is not None else None
        count = export_rows(path, CSV_HEADER, (
            [e.seq, e.occurred_at.isoformat(), e.actor, e.action, e.target, e.organization, e.rma,
             json.dumps(e.details, ensure_ascii=False, sort_keys=True), e.prev_hash, e.hash, e.key_id or "legacy"]
            for e in self.iter_all(actor, flt)), total=total, progress=progress, what="audit log export",
            last=[checkpoint_row(report, checkpoint)])
        return AuditExport(count, report, checkpoint)

    # -- the key ---------------------------------------------------------------------------------
    def _chain_key_id(self) -> str | None:
        with self._db.session() as s:
            found: str | None = s.scalar(sa.select(AuditLog.key_id).where(AuditLog.keyed_from.is_not(None))
                                         .order_by(AuditLog.seq).limit(1))
            return found

    def export_key(self, actor: Actor, where: str) -> str:
        """The trail's key as one line of text, for another admin's keyring (admins only; audited).
        The key of a trail not sealed yet is this account's (created now if it has none)."""
        actor.require(Action.MANAGE_SETTINGS)
        kid = self._chain_key_id()
        key = self._keys.require(kid) if kid is not None else self._keys.current()[1]
        with self._db.write_session() as s:
            audit.append_at(s, self._clock.now(), actor=actor.username, action="audit.key_exported",
                            target=key_id(key), details={"to": where}, keys=self._keys)
        return self._keys.export_text(key)

    def import_key(self, actor: Actor, text: str) -> tuple[str, str | None]:
        """Keep an exported key in this account's keyring (audited); returns its id and the id this
        database's trail is sealed with (None if nothing is sealed yet). Anyone who writes to or
        verifies a shared database needs its key, so any enrolled role may import it."""
        actor.require(Action.VIEW)
        chain = self._chain_key_id()
        kid = self._keys.import_text(text, make_current=chain is None)  # a trail not sealed yet will use it
        if chain is None or chain == kid:
            with self._db.write_session() as s:
                audit.append_at(s, self._clock.now(), actor=actor.username, action="audit.key_imported",
                                target=kid, keys=self._keys)
        return kid, chain


def checkpoint_row(report: ChainReport, checkpoint: Checkpoint | None) -> list[str]:
    """The ``# checkpoint`` line of an export: the verification's verdict and the signed head."""
    verdict = "chain=intact" if report.intact else f"chain=BROKEN at #{report.first_broken_seq}: {report.reason}"
    return ["# checkpoint", verdict, *(checkpoint.fields() if checkpoint else ["no checkpoint: nothing sealed yet"])]


def _entry(row: AuditLog, code: str | None) -> AuditEntry:
    return AuditEntry(row.seq, row.occurred_at, row.actor, row.action, row.target, code, dict(row.details or {}),
                      row.prev_hash, row.hash, row.rma, row.key_id, row.keyed_from)
