"""The append-only audit log, each entry sealed with HMAC-SHA256 under a key in the OS keyring.

**Sealing.** Entry *n* carries a sequence number ``seq`` (contiguous: assigned here as the previous
entry's plus one, under the append lock), the previous entry's seal (``prev_hash``), and its own
seal ``hash`` = HMAC-SHA256(key, canonical JSON of ``seq``, ``prev_hash``, time, actor, action,
target, organization, return (``rma``), key id, ``keyed_from`` and details). The key never leaves
the keyring (:mod:`desktop.services.admin.audit_keys`); an entry names its key by fingerprint
(``key_id``). Whoever can write the database but does not hold the key cannot edit, delete,
insert or reorder an entry without breaking a seal or the sequence; :func:`verify_chain` names
the first entry that does not hold. Cutting off the *end* of the trail leaves a shorter trail that
is still consistent: that is what the checkpoint outside the database is for
(:mod:`desktop.services.admin.audit_checkpoint`).

**Legacy entries.** Databases from before migration 0003 hold entries chained with plain SHA-256
(``key_id`` NULL). They are never re-sealed (that would bless whatever they say now as if it had
been sealed when written): they stay verifiable under their old rule, and the first sealed entry
records the boundary — ``keyed_from`` = its own ``seq`` — and links to the last legacy digest, so
from that moment on the legacy part cannot change either. Entries after the boundary must be sealed.

**Appends** happen in the caller's write transaction. SQLite has one writer; on PostgreSQL a
transaction-scoped advisory lock orders appenders, so two entries never claim the same ``seq``.
Within one transaction the head is remembered (``Session.info``), so posting a batch of documents
costs one look-up, not one per entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.admin.audit_keys import KEYS, AuditKeyring
from desktop.services.core.clock import Clock
from desktop.services.core.events import json_safe, redact
from desktop.services.store.db import transaction_lock
from desktop.services.store.models import AuditLog

__all__ = ["GENESIS", "AuditEntry", "ChainReport", "append", "append_at", "append_many_at",
           "legacy_digest", "require_key", "seal", "verify_chain"]

GENESIS = "0" * 64
SCHEME = "rls-audit-hmac-sha256/1"
_LOCK_KEY = 0x5E7A_0D17  # pg_advisory_xact_lock key for audit appends
_HEAD = "rls_audit_head"  # Session.info: (transaction, last entry appended in it)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


#: The canonical JSON of what a seal covers. ``default=str``: what the app writes is plain JSON already
#: (``json_safe``); anything else in the database was put there by hand and must not crash a check.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_DECODER = json.JSONDecoder()


def _canonical(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


def legacy_digest(prev_hash: str, occurred_at: str, actor: str, action: str, target: str | None,
                  organization_id: int | None, details: Any) -> str:
    """The plain SHA-256 link of entries written before sealing (kept only to verify them)."""
    return hashlib.sha256(_canonical([prev_hash, occurred_at, actor, action, target, organization_id, details])
                          ).hexdigest()


def _stored_time(raw: Any) -> datetime:
    """``occurred_at`` as read raw: SQLite's text (UTC wall time) or PostgreSQL's aware datetime."""
    at = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    if not isinstance(at, datetime):
        raise TypeError("not a time")
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _message(seq: int, prev: str, at: str, actor: str, action: str, target: str | None, organization_id: int | None,
             rma: str | None, kid: str, keyed_from: int | None, details: Any) -> bytes:
    return _canonical([SCHEME, seq, prev, at, actor, action, target, organization_id, rma, kid, keyed_from, details])


def seal(key: bytes, seq: int, prev: str, at: datetime, actor: str, action: str, target: str | None,
         organization_id: int | None, rma: str | None, kid: str, keyed_from: int | None, details: Any) -> str:
    """An entry's HMAC-SHA256 seal (hex)."""
    msg = _message(seq, prev, _iso(at), actor, action, target, organization_id, rma, kid, keyed_from, details)
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def _details(details: dict[str, Any] | None) -> dict[str, Any]:
    clean: dict[str, Any] = json_safe(redact(details or {}))
    return clean


def _innermost(session: Session) -> Any:
    return session.get_nested_transaction() or session.get_transaction()


def _head(session: Session) -> tuple[int, str, str | None] | None:
    """``(seq, seal, key id)`` of the newest entry: remembered from this session's last append if no
    transaction began or ended since (a rolled-back savepoint takes its entries with it), else read
    under the append lock."""
    remembered = session.info.get(_HEAD)
    if remembered is not None and remembered[0] is _innermost(session):
        head: tuple[int, str, str | None] = remembered[1]
        return head
    conn = session.connection()
    transaction_lock(conn, _LOCK_KEY)  # held until the transaction ends
    t = AuditLog.__table__
    row = conn.execute(sa.select(t.c.seq, t.c.hash, t.c.key_id).order_by(t.c.seq.desc()).limit(1)).first()
    return (int(row[0]), str(row[1]), row[2]) if row is not None else None


def require_key(session: Session, keys: AuditKeyring | None = None) -> None:
    """Refuse (:class:`AuditKeyMissing`) when this account could not seal the next entry: the trail is
    sealed with a key its keyring lacks. Work that cannot be undone (posting to a ledger) checks first."""
    t = AuditLog.__table__
    kid = session.scalar(sa.select(t.c.key_id).order_by(t.c.seq.desc()).limit(1))
    if kid:
        (keys or KEYS).require(kid)


def append_at(session: Session, at: datetime, *, actor: str, action: str, target: str | None = None,
              organization_id: int | None = None, rma: str | None = None, details: dict[str, Any] | None = None,
              keys: AuditKeyring | None = None) -> int:
    """Add one sealed entry dated ``at`` in the caller's write transaction; returns its ``seq``.

    The caller's pending changes are flushed first, so its row locks are taken before the append lock
    (the order every writer follows: taking them the other way round can deadlock with a writer that
    holds a row and waits for the append lock)."""
    return append_many_at(session, [AuditEntry(at, actor, action, target, organization_id, rma, details)],
                          keys=keys)[0]


@dataclass(frozen=True)
class AuditEntry:
    """One entry to append (:func:`append_many_at`): what :func:`append_at` takes."""

    at: datetime
    actor: str
    action: str
    target: str | None = None
    organization_id: int | None = None
    rma: str | None = None
    details: dict[str, Any] | None = None


def append_many_at(session: Session, entries: Sequence[AuditEntry], *,
                   keys: AuditKeyring | None = None) -> list[int]:
    """Add ``entries``, in order, as consecutive sealed entries in the caller's write transaction (one
    flush, one head look-up, one multi-row insert); returns their ``seq``. Exactly what as many
    :func:`append_at` calls in a row would write, with the same lock order."""
    if not entries:
        return []
    keys = keys or KEYS
    session.flush()
    head = _head(session)
    rows: list[dict[str, Any]] = []
    for e in entries:
        seq = head[0] + 1 if head is not None else 1
        prev = head[1] if head is not None else GENESIS
        if head is not None and head[2]:
            kid, keyed_from = head[2], None
            key = keys.require(kid)
        else:  # the first sealed entry: it marks the boundary after any legacy entries
            kid, key = keys.current()
            keyed_from = seq
        clean = _details(e.details)
        own = seal(key, seq, prev, e.at, e.actor, e.action, e.target, e.organization_id, e.rma, kid, keyed_from,
                   clean)
        rows.append({"seq": seq, "occurred_at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                     "organization_id": e.organization_id, "rma": e.rma, "details": clean, "prev_hash": prev,
                     "hash": own, "key_id": kid, "keyed_from": keyed_from})
        head = (seq, own, kid)
    session.connection().execute(sa.insert(AuditLog), rows)
    session.info[_HEAD] = (_innermost(session), head)
    return [int(r["seq"]) for r in rows]


def append(session: Session, clock: Clock, *, actor: str, action: str, target: str | None = None,
           organization_id: int | None = None, rma: str | None = None,
           details: dict[str, Any] | None = None) -> int:
    """Add one sealed entry, dated now, in the caller's write transaction; returns its ``seq``."""
    return append_at(session, clock.now(), actor=actor, action=action, target=target,
                     organization_id=organization_id, rma=rma, details=details)


# --- verification -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found. ``problem`` is a short code: ``changed`` (a seal does not
    match), ``missing`` (a gap in the sequence), ``link`` (does not follow its predecessor),
    ``unsealed`` (a legacy-style entry after sealing began), ``boundary``, ``key`` (a foreign key),
    and from the checkpoint: ``truncated``, ``rewritten``, ``checkpoint`` (the file was altered)."""

    entries: int
    intact: bool
    first_broken_seq: int | None = None
    reason: str = ""
    problem: str = ""
    head_seq: int | None = None
    head_hash: str | None = None
    keyed_from: int | None = None
    key_id: str | None = None
    legacy_entries: int = 0
    checkpoint: str = ""  # what the checkpoint comparison said, in words
    watched_hash: str | None = field(default=None, repr=False, compare=False)
    watched_count: int = field(default=0, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("watched_hash")
        data.pop("watched_count")
        return data


def _gap(first: int, last: int) -> str:
    return f"entry #{first} is missing" if first == last else f"entries #{first}–#{last} are missing"


def verify_chain(session: Session, *, keys: AuditKeyring | None = None, watch_seq: int | None = None,
                 expected_key_id: str | None = None) -> ChainReport:
    """Check every entry in order; report the first that does not hold (see :class:`ChainReport`).

    ``watch_seq``: also report the seal of that entry and how many entries precede it, inclusive
    (for the checkpoint). ``expected_key_id``: the key the checkpoint was signed with; a trail now
    sealed with another key was re-sealed. Streams the rows, so memory stays flat.
    """
    keys = keys or KEYS
    t = AuditLog.__table__
    # Time and details are read raw and parsed here: a value someone wrote by hand that does not parse
    # is a changed entry, not a crash (and skipping the column types' processing is faster).
    when = t.c.occurred_at if session.get_bind().dialect.name == "postgresql" else sa.cast(t.c.occurred_at, sa.Text)
    stmt = sa.select(t.c.seq, when, t.c.actor, t.c.action, t.c.target, t.c.organization_id, t.c.rma,
                     sa.cast(t.c.details, sa.Text), t.c.prev_hash, t.c.hash, t.c.key_id, t.c.keyed_from
                     ).order_by(t.c.seq)
    rows = session.execute(stmt.execution_options(yield_per=5000))  # a server-side cursor on PostgreSQL
    try:
        return _walk(rows, keys, watch_seq, expected_key_id)
    finally:
        rows.close()


def _walk(rows: Any, keys: AuditKeyring, watch_seq: int | None, expected_key_id: str | None) -> ChainReport:
    """The checks of :func:`verify_chain`, over its rows in ``seq`` order."""
    prev, last_seq = GENESIS, 0
    count = legacy = 0
    kid: str | None = None
    keyed_from: int | None = None
    base: Any = None
    watched: str | None = None
    watched_count = 0

    def broken(seq: int, problem: str, reason: str) -> ChainReport:
        return ChainReport(count, False, seq, reason, problem, last_seq or None, prev if last_seq else None,
                           keyed_from, kid, legacy, watched_hash=watched, watched_count=watched_count)

    for (seq, raw_at, actor, action, target, org_id, rma, raw_details, prev_hash, own, row_kid, row_from) in rows:
        count += 1
        try:
            at, details = _stored_time(raw_at), _DECODER.decode(raw_details)
        except (TypeError, ValueError):
            return broken(seq, "changed", f"entry #{seq} was changed after it was written: its time or details "
                                          "are not what the app writes")
        if row_kid is None:  # a legacy entry (plain SHA-256 link)
            if kid is not None:
                return broken(seq, "unsealed", f"entry #{seq} is not sealed although sealing began at entry "
                                               f"#{keyed_from}: it was written or rewritten without the key")
            if prev_hash != prev:
                return broken(seq, "link", f"entry #{seq} does not follow the entry before it: an earlier entry "
                                           "was removed or changed")
            if own != legacy_digest(prev, at.isoformat(), actor, action, target, org_id, details):
                return broken(seq, "changed", f"entry #{seq} was changed after it was written")
            legacy += 1
        else:
            expected = last_seq + 1
            if seq != expected:
                return broken(expected, "missing", f"{_gap(expected, seq - 1)}: deleted from the trail")
            if kid is None:  # the boundary: where sealing began
                if row_from != seq:
                    return broken(seq, "boundary", f"entry #{seq} is the first sealed entry but does not say so: "
                                                   "entries were removed or forged")
                if expected_key_id is not None and row_kid != expected_key_id:
                    return broken(seq, "key", f"entry #{seq} on are sealed with key {row_kid}, but the checkpoint "
                                              f"was signed with key {expected_key_id}: the trail was re-sealed")
                kid, keyed_from = row_kid, seq
                base = hmac.new(keys.require(kid), digestmod=hashlib.sha256)
            elif row_kid != kid:
                return broken(seq, "key", f"entry #{seq} is sealed with another key than the rest: it was forged")
            elif row_from is not None:
                return broken(seq, "boundary", f"entry #{seq} claims sealing began there, after entry "
                                               f"#{keyed_from}: it was forged")
            mac = base.copy()
            mac.update(_message(seq, prev_hash, _iso(at), actor, action, target, org_id, rma, kid, row_from,
                                details))
            if not hmac.compare_digest(mac.hexdigest(), str(own)):
                return broken(seq, "changed", f"entry #{seq} was changed, moved or forged after it was written: "
                                              "its seal does not match")
            if prev_hash != prev and row_from == seq and legacy:
                return broken(last_seq, "link", f"entry #{last_seq} (or an older unsealed entry) was changed after "
                                                f"sealing began: entry #{seq} sealed a different history")
            if prev_hash != prev:
                return broken(seq, "link", f"entry #{seq} does not follow the entry before it: an entry was "
                                           "removed, replaced or reordered")
        prev, last_seq = own, seq
        if watch_seq is not None and seq <= watch_seq:
            watched_count = count
            if seq == watch_seq:
                watched = own
    return ChainReport(count, True, None, "", "", last_seq or None, prev if last_seq else None, keyed_from, kid,
                       legacy, watched_hash=watched, watched_count=watched_count)
