"""The RMS's memory: every revision in feed order, the bad-record ledger, and write-backs.

The change feed is the list of all revisions ordered by ``(updated_at, id, revision)``. A cursor
names a position in that order (the key of the last revision a client saw), not an offset, so it
stays valid while new revisions arrive; new revisions always get an ``updated_at`` strictly later
than anything already in the feed, so they land after every cursor ever handed out and a client
that follows ``next_cursor`` sees each revision exactly once.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import json
import threading
from datetime import datetime, timedelta
from typing import Any

from desktop.sandbox.rms.generator import Doc, rfc3339

Key = tuple[str, str, int]  # (updated_at RFC 3339 with fixed width, id, revision): sorts as text


class CursorError(ValueError):
    """The client sent a cursor this RMS never issued."""


def encode_cursor(key: Key) -> str:
    raw = json.dumps(["v1", *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, updated_at, rid, revision = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise CursorError("cursor is not one this API issued") from exc
    if version != "v1" or not isinstance(updated_at, str) or not isinstance(rid, str) \
            or not isinstance(revision, int):
        raise CursorError("cursor is not one this API issued")
    return (updated_at, rid, revision)


def _key(doc: Doc) -> Key:
    return (doc["updated_at"], doc["id"], doc["revision"])


class ReturnStore:
    """Thread-safe; documents are deep-copied on the way in and out so callers cannot alias them."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._keys: list[Key] = []
        self._feed: list[Doc] = []
        self._latest: dict[str, Doc] = {}
        self._revisions: dict[str, dict[int, Doc]] = {}
        self.bad: dict[str, dict[str, Any]] = {}
        self._writebacks: list[dict[str, Any]] = []
        self._by_key: dict[str, tuple[str, dict[str, Any]]] = {}  # idempotency key -> (body hash, record)

    def load(self, docs: list[Doc]) -> None:
        """Replace everything with ``docs`` (any order)."""
        with self._lock:
            ordered = sorted((copy.deepcopy(d) for d in docs), key=_key)
            self._feed = ordered
            self._keys = [_key(d) for d in ordered]
            self._latest, self._revisions = {}, {}
            for doc in ordered:
                self._index(doc)
            self.bad.clear()
            self._writebacks.clear()
            self._by_key.clear()

    def _index(self, doc: Doc) -> None:
        self._revisions.setdefault(doc["id"], {})[doc["revision"]] = doc
        if doc["revision"] >= self._latest.get(doc["id"], {}).get("revision", 0):
            self._latest[doc["id"]] = doc

    def next_timestamp(self, now: datetime) -> datetime:
        """``now``, or 1 ms after the newest revision if the clock has not moved past it."""
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the feed's precision
        with self._lock:
            if self._keys:
                last = datetime.fromisoformat(self._keys[-1][0].replace("Z", "+00:00"))
                if now <= last:
                    return last + timedelta(milliseconds=1)
            return now

    def append(self, doc: Doc) -> None:
        """Add a new revision at the end of the feed (its ``updated_at`` must be the newest)."""
        with self._lock:
            key = _key(doc)
            if self._keys and key <= self._keys[-1]:
                raise ValueError("new revisions must be newer than everything in the feed")
            stored = copy.deepcopy(doc)
            self._keys.append(key)
            self._feed.append(stored)
            self._index(stored)

    def page(self, cursor: str, limit: int, organization: str | None, skip: int = 0
             ) -> tuple[list[Doc], str, bool]:
        """Revisions after ``cursor`` (empty = from the start), the first ``skip`` of them left out;
        returns (docs, next cursor, has_more). The next cursor lies past the last revision served or
        skipped, so ``limit`` 0 with a ``skip`` steps over revisions without sending them."""
        with self._lock:
            start = 0 if not cursor else bisect.bisect_right(self._keys, decode_cursor(cursor))
            out: list[Doc] = []
            has_more = False
            last: Doc | None = None
            for doc in self._feed[start:]:
                if organization is not None and doc.get("organization") != organization:
                    continue
                if skip:
                    skip -= 1
                    last = doc
                    continue
                if len(out) == limit:
                    has_more = True
                    break
                out.append(copy.deepcopy(doc))
                last = doc
            next_cursor = encode_cursor(_key(last)) if last is not None else cursor
            return out, next_cursor, has_more

    def latest(self, rid: str) -> Doc | None:
        with self._lock:
            doc = self._latest.get(rid)
            return copy.deepcopy(doc) if doc is not None else None

    def revision(self, rid: str, revision: int) -> Doc | None:
        with self._lock:
            doc = self._revisions.get(rid, {}).get(revision)
            return copy.deepcopy(doc) if doc is not None else None

    def count(self) -> int:
        with self._lock:
            return len(self._feed)

    def ids(self, organization: str | None = None) -> list[str]:
        with self._lock:
            return [rid for rid, d in self._latest.items()
                    if organization is None or d.get("organization") == organization]

    def record_writeback(self, idem_key: str, fingerprint: str,
                         build: Any) -> tuple[dict[str, Any], bool]:
        """Store ``build()`` under ``idem_key`` once; a replay returns the first record.

        Returns (record, replayed). Raises :class:`KeyError` if the key was used for a different
        body, so the API can answer 409 as idempotency-key conventions require.
        """
        with self._lock:
            seen = self._by_key.get(idem_key)
            if seen is not None:
                if seen[0] != fingerprint:
                    raise KeyError(idem_key)
                return copy.deepcopy(seen[1]), True
            record = build()
            self._by_key[idem_key] = (fingerprint, record)
            self._writebacks.append(record)
            return copy.deepcopy(record), False

    def writebacks(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._writebacks)

    def writeback_count(self) -> int:
        """How many write-backs are stored (no copy: a write-back numbers itself by it)."""
        with self._lock:
            return len(self._writebacks)


__all__ = ["CursorError", "ReturnStore", "decode_cursor", "encode_cursor", "rfc3339"]
