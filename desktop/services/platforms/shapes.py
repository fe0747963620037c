"""The shapes every ledger platform shares: posting outcomes, documents as the ledger holds them, and the paginator.

The lowest module of the ledger package (it imports nothing of it): the interface
(:mod:`.platform`), both platforms' readers (:mod:`.qbo`, :mod:`.xero`) and writers
(:mod:`.qbo_post`, :mod:`.xero_post`) and the poster all speak these types, so none of them has to
import another platform's module — or the interface its implementations — to name them.

Offset paging is written once, in :func:`paginate`; each platform says only how to fetch page
``n`` (QBO: ``STARTPOSITION``/``MAXRESULTS``; Xero: ``page=N``) and whether it said "no more".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from desktop.services.core.errors import AppError

T = TypeVar("T")

__all__ = ["Outcome", "Page", "PostRequest", "RemoteDoc", "SendResult", "batch_id", "paginate"]


# --- the shared paginator ----------------------------------------------------------------------

@dataclass(frozen=True)
class Page(Generic[T]):
    """One page as a platform returned it; ``last``: the platform itself said there is no more."""

    rows: list[T]
    last: bool = False


def paginate(fetch: Callable[[int], Page[T]], page_size: int) -> Iterator[list[T]]:
    """Pages to exhaustion: ``fetch(0)``, ``fetch(1)``, … until a short page or one marked last.

    ``fetch`` gets the 0-based page index and turns it into the platform's own terms. A full page
    is always followed by one more request (a list of exactly ``page_size`` rows ends with an
    empty page), unless the platform said it was the last.
    """
    index = 0
    while True:
        page = fetch(index)
        yield page.rows
        if page.last or len(page.rows) < page_size:
            return
        index += 1


# --- posting and reading documents ---------------------------------------------------------------

class Outcome(StrEnum):
    """What one document's send came to."""

    POSTED = "posted"
    RETRY = "retry"            # not created; transient (throttled, …): try again after a backoff
    QUARANTINE = "quarantine"  # not created; the platform refused it: a person must act
    UNCERTAIN = "uncertain"    # sent, answer lost: look the key up before any re-send
    DUPLICATE = "duplicate"    # refused as a duplicate number: look the key up to decide


@dataclass(frozen=True)
class RemoteDoc:
    """A document as the ledger holds it."""

    doc_type: str
    remote_id: str
    number: str | None = None
    sync_token: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class PostRequest:
    """One document to create: its key and the entity body (placeholders already filled)."""

    key: str
    doc_type: str
    body: dict[str, Any]


@dataclass(frozen=True)
class SendResult:
    key: str
    outcome: Outcome
    remote: RemoteDoc | None = None
    error: AppError | None = None


def batch_id(parts: list[str], prefix: str, length: int) -> str:
    """A deterministic id for one send of a set of documents (same set and attempt → same id)."""
    digest = hashlib.sha256("\x1f".join(sorted(parts)).encode()).hexdigest()
    return (prefix + digest)[:length]
