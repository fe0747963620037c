"""Copies of one revision in one batch: the one owner of "one (RMS id, revision), one content".

A *batch*, for this rule, is what one call hands to ingest: a page of the RMS feed, or a whole
import file — however many transactions the file is streamed in. Within a batch:

- the **first** copy of an ``(RMS id, revision)`` counts (it goes on to the usual upsert);
- a later copy with the **same** content (:func:`~desktop.services.rms.records.same_payload`) is a
  **duplicate**: counted, nothing written;
- a later copy with **different** content is quarantined with :data:`CONFLICTING_REVISION`, its
  message naming both copies (and the fields that differ, when the first copy is still at hand),
  kept under a stand-in revision (:func:`~desktop.services.rms.records.unreadable_revision`; the
  first copy holds the key). The same different copy again is a duplicate of that one.

So records in = ingested + quarantined + unchanged + duplicates + conflicts, whatever the batch
size. Memory stays bounded for a file of any size: for revisions of earlier transactions only a
64-bit hash of the key and one integer are kept (a 96-bit digest of the content plus where the
copy was), never the payload; only the current transaction's records are held whole. When a later
copy meets one of those, the first copy's content is the row the database holds for that key —
so the fields that differ are named whenever that row is still the first copy.

Not a copy: the rest of a CSV return whose rows were far apart (``Incoming.continues``): it is the
same record, which replaces its first part (quarantined ``split_rows`` by the reader).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from desktop.services.core.domain import Problem
from desktop.services.rms.packed import PackedMap
from desktop.services.rms.progress import Incoming
from desktop.services.rms.records import content_digest, same_payload, unreadable_revision

__all__ = ["CONFLICTING_REVISION", "CopyCheck", "Verdict"]

#: The quarantine code of a second, different copy of one revision in one batch.
CONFLICTING_REVISION = "conflicting_revision"

_LABEL = re.compile(r"^(.*?)(\d+)(\D*)$", re.DOTALL)
_NO_PLACE = 255  # a template id past the table: "an earlier record"
_DIGEST = 12  # bytes of the content digest kept per revision (96 bits)

#: ``key`` → (the database holds a row of it, its payload).
Stored = Callable[[tuple[str, int]], tuple[bool, object]]


@dataclass(frozen=True)
class Verdict:
    """What a record is within its batch: the ``first`` copy, a ``duplicate``, or a ``conflict``
    (``problem`` to quarantine it with, under ``revision``, a stand-in)."""

    kind: Literal["first", "duplicate", "conflict"]
    problem: Problem | None = None
    revision: int = 0


_FIRST = Verdict("first")
_DUPLICATE = Verdict("duplicate")


@dataclass
class _Here:
    """A copy of the current transaction, held whole (the transaction is bounded)."""

    raw: Mapping[str, Any]
    digest: bytes
    label: str


class CopyCheck:
    """The copy rule (module docstring) for one batch; :meth:`end_transaction` after each transaction."""

    def __init__(self, unit: str, scope: str | None = None) -> None:
        #: What the batch is ("file", "page", "batch": a record without a place of its own is
        #: ``record 3 of the file``), and how a message names it ("this page of the RMS feed").
        self.unit = unit
        self.scope = scope or f"this {unit}"
        # hash((id, revision)) → digest96 << 40 | place << 8 | template: 17 bytes, packed (~40 bytes a revision)
        self._earlier = PackedMap(_DIGEST + 5)
        self._templates: dict[tuple[str, str, bool], int] = {}
        self._here: dict[tuple[str, int], _Here] = {}

    def where(self, inc: Incoming, position: int) -> str:
        """Where a record is, as its source names it (``orders.csv row 4``), else its place in the batch."""
        if inc.where is not None:
            return inc.where
        if inc.annotate is not None:
            probe = inc.annotate(Problem("where", "", None)).message
            if probe.endswith(": "):
                return probe[:-2]
        return f"record {position + 1} of the {self.unit}"

    def end_transaction(self) -> None:
        """The records held whole so far are committed: keep only their digests from now on (so a
        transaction's records are not held while the next ones are read)."""
        self._here = {}

    def check(self, key: tuple[str, int], raw: Mapping[str, Any], label: str, *, rma: str, fix: str,
              stored: Stored, plain: bool = False) -> Verdict:
        """The verdict on a record of ``key`` with content ``raw`` found at ``label`` (e.g.
        ``export.json record 5``). ``stored(key)``: whether the database holds a row of that key, and
        its payload — how a copy from an earlier transaction is confirmed and compared. ``plain``:
        ``raw`` was proved plain (:func:`~desktop.services.rms.records.content_digest`)."""
        first = self._first(key, stored)
        digest = content_digest(raw, plain=plain)[:_DIGEST]
        if first is None:
            self._remember(key, raw, label, digest)
            return _FIRST
        first_raw, first_digest, first_label = first
        if first_digest == digest:
            return _DUPLICATE
        revision = unreadable_revision(raw)
        stand_in = (key[0], revision)
        again = self._first(stand_in, stored)  # the same different copy a third time: a duplicate of it
        if again is not None and again[1] == digest:
            return _DUPLICATE
        self._remember(stand_in, raw, label, digest)
        differ = ""
        if first_raw is not None:
            names = sorted(k for k in set(first_raw) | set(raw) if not same_payload(first_raw.get(k), raw.get(k)))
            differ = f" ({', '.join(names[:8])} differ)" if names else ""
        problem = Problem(
            CONFLICTING_REVISION,
            f"Return {rma} revision {key[1]} is in {self.scope} twice with different content{differ}: the first "
            f"copy ({first_label}) was taken, this copy ({label}) is held here and not used — {fix}", "revision")
        return Verdict("conflict", problem, revision)

    # --- memory ---------------------------------------------------------------------------------
    def _first(self, key: tuple[str, int], stored: Stored) -> tuple[Mapping[str, Any] | None, bytes, str] | None:
        """(its content if at hand, its digest, where it was) of the first copy of ``key``, if any."""
        here = self._here.get(key)
        if here is not None:
            return here.raw, here.digest, here.label
        packed = self._earlier.get(hash(key))
        if packed is None:
            return None
        is_stored, payload = stored(key)
        if not is_stored:
            return None  # the hash of another key: a first copy always leaves a row of its key
        digest = (packed >> 40).to_bytes(_DIGEST, "big")
        at_hand = payload if isinstance(payload, Mapping) and content_digest(payload)[:_DIGEST] == digest else None
        return at_hand, digest, self._label((packed >> 8) & 0xFFFFFFFF, packed & 0xFF)

    def _remember(self, key: tuple[str, int], raw: Mapping[str, Any], label: str, digest: bytes) -> None:
        self._here[key] = _Here(raw, digest, label)
        place, template = self._place(label)
        self._earlier.set(hash(key), int.from_bytes(digest, "big") << 40 | place << 8 | template)

    def _place(self, label: str) -> tuple[int, int]:
        """``label`` as (number, template id): ``export.csv row 12`` → (12, id of ``export.csv row _``)."""
        m = _LABEL.match(label)
        prefix, number, suffix = (m.group(1), int(m.group(2)), m.group(3)) if m else (label, 0, "")
        if number >= 1 << 32:
            return 0, _NO_PLACE
        template = self._templates.setdefault((prefix, suffix, m is not None), len(self._templates))
        return number, template if template < _NO_PLACE else _NO_PLACE

    def _label(self, number: int, template: int) -> str:
        for (prefix, suffix, numbered), tid in self._templates.items():
            if tid == template:
                return f"{prefix}{number}{suffix}" if numbered else prefix
        return f"an earlier record of {self.scope}"
