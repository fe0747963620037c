"""The audit trail's checkpoint: its head, held outside the database, signed with the trail's key.

Seals prove no entry was edited, removed, inserted or reordered — but a trail whose *end* was cut
off is still a consistent trail. So on every verification and every export the app writes a small
file, ``audit-checkpoint.json`` in the data directory: per database, the head entry's ``seq`` and
seal, the number of entries, where sealing began, the time, and an HMAC-SHA256 over all of them
with the trail's own key. The next verification compares the database with it: fewer entries than
the checkpoint saw → the tail was cut off; a different seal at the checkpoint's head → the trail
was rewritten; a file whose signature does not hold → the file was altered. A failed verification
leaves the file as it was (it is the evidence).

In shared-PostgreSQL mode each workstation keeps its own checkpoint, in its own data directory.
Restoring an older backup of the database shows as a cut-off tail, which it is; after looking into
it, an admin may delete the file to start afresh (README, "Audit trail").
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from desktop.services.admin.audit import ChainReport, verify_chain
from desktop.services.admin.audit_keys import KEYS, AuditKeyring

__all__ = ["FILE_NAME", "Checkpoint", "database_label", "verify_and_checkpoint"]

FILE_NAME = "audit-checkpoint.json"
_FORMAT = "returns-ledger audit checkpoint"


def database_label(url: str) -> str:
    """Which database a checkpoint belongs to, without user or password: the SQLite file's full path,
    or PostgreSQL's host, port and database name."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:{Path(parsed.database or '').resolve()}"
    return f"postgresql://{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


@dataclass(frozen=True)
class Checkpoint:
    """The head of one database's trail as seen at ``written_at``, and its signature."""

    database: str
    head_seq: int
    head_hash: str
    entries: int
    keyed_from: int
    key_id: str
    written_at: str
    signature: str = ""

    def _signed_part(self) -> bytes:
        return json.dumps([_FORMAT, self.database, self.head_seq, self.head_hash, self.entries, self.keyed_from,
                           self.key_id, self.written_at], separators=(",", ":")).encode("utf-8")

    def signed(self, key: bytes) -> Checkpoint:
        return replace(self, signature=hmac.new(key, self._signed_part(), hashlib.sha256).hexdigest())

    def holds(self, key: bytes) -> bool:
        expected = hmac.new(key, self._signed_part(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)

    def as_json(self) -> dict[str, Any]:
        return {"head_seq": self.head_seq, "head_hash": self.head_hash, "entries": self.entries,
                "keyed_from": self.keyed_from, "key_id": self.key_id, "written_at": self.written_at,
                "signature": self.signature}

    def fields(self) -> list[str]:
        """``name=value`` cells, for a line in an export (nothing secret: seals and a signature)."""
        return [f"{k}={v}" for k, v in self.as_json().items()]

    def when(self) -> str:
        """``written_at`` for people (UTC, to the second)."""
        try:
            return f"{datetime.fromisoformat(self.written_at).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        except ValueError:
            return self.written_at

    def words(self) -> str:
        return f"entry #{self.head_seq} ({self.entries:,} entries) as of {self.when()}"


class _Altered(Exception):
    """The checkpoint file is not what this app wrote."""


class CheckpointFile:
    """``audit-checkpoint.json`` in a directory: one checkpoint per database label."""

    def __init__(self, directory: Path, database: str) -> None:
        self.path = directory / FILE_NAME
        self.database = database

    def _all(self) -> dict[str, Any]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise _Altered from exc
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("databases"), dict):
            raise _Altered
        databases: dict[str, Any] = data["databases"]
        return databases

    def load(self) -> Checkpoint | None:
        """This database's checkpoint, unchecked (see :meth:`Checkpoint.holds`); raises ``_Altered``."""
        item = self._all().get(self.database)
        if item is None:
            return None
        try:
            return Checkpoint(self.database, int(item["head_seq"]), str(item["head_hash"]), int(item["entries"]),
                              int(item["keyed_from"]), str(item["key_id"]), str(item["written_at"]),
                              str(item["signature"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise _Altered from exc

    def save(self, checkpoint: Checkpoint) -> None:
        """Replace this database's checkpoint atomically (other databases' entries are kept)."""
        try:
            databases = self._all()
        except _Altered:
            databases = {}  # only reached after a verification that passed against… nothing readable
        databases[self.database] = checkpoint.as_json()
        text = json.dumps({"format": _FORMAT, "version": 1, "databases": databases}, indent=2, sort_keys=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".audit-checkpoint-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _compare(report: ChainReport, cp: Checkpoint) -> ChainReport:
    """A trail that verified on its own, against what the checkpoint saw."""
    when = f"the checkpoint of {cp.when()}"
    if report.keyed_from != cp.keyed_from:
        first = min(cp.keyed_from, report.keyed_from or cp.keyed_from)
        return replace(report, intact=False, first_broken_seq=first, problem="rewritten",
                       reason=f"entry #{cp.keyed_from} was sealed at {when}, but the trail now says sealing "
                              f"{'began at #' + str(report.keyed_from) if report.keyed_from else 'never began'}: "
                              "it was rewritten without the key")
    head = report.head_seq or 0
    if head < cp.head_seq:
        gap = f"entry #{head + 1}" if head + 1 == cp.head_seq else f"entries #{head + 1}–#{cp.head_seq}"
        return replace(report, intact=False, first_broken_seq=head + 1, problem="truncated",
                       reason=f"{gap} {'is' if head + 1 == cp.head_seq else 'are'} missing: {when} saw the trail "
                              f"up to #{cp.head_seq}, so its end was cut off")
    if report.watched_hash != cp.head_hash or report.watched_count != cp.entries:
        return replace(report, intact=False, first_broken_seq=cp.head_seq, problem="rewritten",
                       reason=f"entry #{cp.head_seq} is not the entry {when} saw: the trail was rewritten up to there")
    return report


def verify_and_checkpoint(session: Session, directory: Path | None, database: str, now: datetime, *,
                          keys: AuditKeyring | None = None, record: bool = True) -> tuple[ChainReport,
                                                                                         Checkpoint | None]:
    """Verify the trail, compare it with the checkpoint in ``directory`` and, if it holds, write a new one.

    Returns the report (``checkpoint`` says what the comparison found, in words) and the checkpoint
    now on file for this database (None if there is none, e.g. nothing is sealed yet).
    """
    keys = keys or KEYS
    store = CheckpointFile(directory, database) if directory is not None else None
    try:
        cp = store.load() if store is not None else None
    except _Altered:
        report = verify_chain(session, keys=keys)
        return replace(report, intact=False, problem="checkpoint", first_broken_seq=None,
                       reason=f"the checkpoint file {store.path if store else FILE_NAME} was altered: it is not "
                              "what this app wrote", checkpoint="altered"), None
    if cp is not None and not cp.holds(keys.require(cp.key_id)):
        report = verify_chain(session, keys=keys)
        return replace(report, intact=False, problem="checkpoint", first_broken_seq=None,
                       reason=f"the checkpoint in {store.path if store else FILE_NAME} was altered: its signature "
                              "does not hold", checkpoint="altered"), None
    report = verify_chain(session, keys=keys, watch_seq=cp.head_seq if cp else None,
                          expected_key_id=cp.key_id if cp else None)
    if not report.intact:
        return replace(report, checkpoint=f"not updated (last: {cp.words()})" if cp else
                       "not updated (none yet for this database)"), cp
    if cp is not None:
        report = _compare(report, cp)
        if not report.intact:
            return replace(report, checkpoint=f"not updated (last: {cp.words()})"), cp
    if store is None or report.key_id is None or report.head_seq is None or report.keyed_from is None \
            or report.head_hash is None:
        note = "no data directory" if store is None else "nothing sealed yet"
        return replace(report, checkpoint=note), cp
    fresh = Checkpoint(database, report.head_seq, report.head_hash, report.entries, report.keyed_from,
                       report.key_id, now.isoformat()).signed(keys.require(report.key_id))
    if record:
        store.save(fresh)
    said = f"matches the one of {cp.when()}; " if cp else "first one written; "
    return replace(report, checkpoint=said + f"now at {fresh.words()}"), fresh
