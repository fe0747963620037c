"""The records of one ingest batch on their way to the store: what ingest holds per record and per
stored revision, how a stream is cut into batches, and the copy rule applied to a batch.

:mod:`desktop.services.rms.ingest` drives these; they hold no database session of their own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from desktop.services.core.domain import Problem, ReturnRecord
from desktop.services.rms.copies import CopyCheck
from desktop.services.rms.progress import Incoming
from desktop.services.rms.records import RowValues, placeholder_values, stated_revision
from desktop.services.rms.results import IngestResult
from desktop.services.store.models import Return, ReturnSyncStatus

__all__ = ["Held", "Item", "next_batch", "one_copy_each"]


@dataclass
class Held:
    """A revision of the batch's returns that the database holds (``orm``) or that this batch adds."""

    orm: Return | None
    rms_id: str = ""
    revision: int = 0
    sync_status: ReturnSyncStatus = ReturnSyncStatus.NEW
    id: int | None = None
    raw_payload: object = None
    #: The revision the RMS stated (differs from ``revision`` for a conflicting copy's stand-in).
    stated: int = 0

    def __post_init__(self) -> None:
        if self.orm is not None:
            self.rms_id, self.revision, self.sync_status = self.orm.rms_id, self.orm.revision, self.orm.sync_status
            self.id, self.raw_payload = self.orm.id, self.orm.raw_payload
            self.stated = stated_revision(self.revision, self.raw_payload)


@dataclass
class Item:
    raw: dict[str, Any]
    record: ReturnRecord | None
    problems: list[Problem]
    values: RowValues
    stand_ins: list[str]
    return_id: int | None = None
    held: Held = field(default_factory=lambda: Held(None))
    #: ``raw`` was proved plain when it was read (its JSON needs no walk of its own).
    plain: bool = False

    # Read many times per record while a batch is applied; the values they come from are set when
    # the item is made (a conflicting copy is a new item) and never change after.
    @cached_property
    def key(self) -> tuple[str, int]:
        return self.values.key

    @cached_property
    def rma_number(self) -> str:
        return str(self.values.ret["rma_number"])

    @cached_property
    def stated(self) -> int:
        return stated_revision(self.key[1], self.raw)

    @property
    def name(self) -> str:
        revision = self.stated if self.stated >= 1 else "unreadable"
        return f"Return {self.rma_number} (revision {revision})"




def next_batch(iterator: Iterator[Incoming], carry: Incoming | None,
                size: int) -> tuple[list[Incoming], Incoming | None]:
    """Up to ``size`` records, ending early before the rest of a record the batch already has (a CSV
    return's far-apart rows, ``Incoming.continues``): it then meets its first part as a committed row and
    replaces it, whichever batch it falls in. (Second *copies* need no cut: the copy rule spans the
    whole batch, :mod:`desktop.services.rms.copies`.) Returns the batch and the record held back."""
    batch: list[Incoming] = []
    keys: set[tuple[str, str]] = set()
    for inc in itertools.chain([carry] if carry is not None else [], iterator):
        raw = inc.raw
        rid = raw.get("id") if isinstance(raw, Mapping) else None
        key = (rid, str(raw.get("revision"))) if isinstance(raw, Mapping) and isinstance(rid, str) and rid else None
        if key is not None and inc.continues and key in keys:
            return batch, inc
        if key is not None:
            keys.add(key)
        batch.append(inc)
        if len(batch) >= size:
            break
    return batch, None


def one_copy_each(prepared: Sequence[tuple[Incoming, Item]], copies: CopyCheck,
                   by_key: Mapping[tuple[str, int], Held], result: IngestResult, *, org_id: int, now: datetime,
                   fix: str, offset: int) -> list[Item]:
    """The items to upsert, after the copy rule (:mod:`desktop.services.rms.copies`): a first copy as it
    is, a duplicate counted and left out, a different copy as a quarantined stand-in naming both."""
    def stored(key: tuple[str, int]) -> tuple[bool, object]:
        return key in by_key, by_key[key].raw_payload if key in by_key else None

    items: list[Item] = []
    for n, (inc, it) in enumerate(prepared):
        if inc.continues:  # the rest of a record handed over before: it replaces that one, not a copy
            items.append(it)
            continue
        verdict = copies.check(it.key, it.raw, copies.where(inc, offset + n), rma=it.rma_number, fix=fix,
                               stored=stored, plain=it.plain)
        if verdict.kind == "duplicate":
            result.duplicates += 1
        elif verdict.kind == "conflict" and verdict.problem is not None:
            values, stand_ins = placeholder_values(it.raw, org_id, now)
            values["revision"] = verdict.revision
            items.append(Item(it.raw, None, [verdict.problem, *it.problems], RowValues(values),
                               [*stand_ins, "revision"]))
        else:
            items.append(it)
    return items


