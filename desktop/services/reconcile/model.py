"""What reconciliation compares and what it finds: one shape for both ledgers.

The comparison itself (:mod:`desktop.services.reconcile.compare`) is pure and works on these
plain records, so a month of 100,000 returns reconciles in memory without touching the network
twice, and unit tests can build any situation without a ledger. The ledger's side is the platform
interface's own read model, :class:`~desktop.services.platforms.interface.DocView`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from desktop.services.core.errors import ConfigurationError
from desktop.services.core.words import CLASS_WORDS, DOC_WORDS, class_words, doc_words

__all__ = ["CLASS_WORDS", "DOC_WORDS", "POSTED", "Expected", "Period", "RmsReturn", "VarianceClass", "VarianceFinding",
           "class_words", "doc_words"]

#: Outbox status of a document the ledger should hold.
POSTED = "posted"


class VarianceClass(StrEnum):
    """Exactly one class per variance (issue 7): what a person must look at, and why."""

    MISSING_IN_LEDGER = "missing_in_ledger"
    MISSING_IN_RMS = "missing_in_rms"
    AMOUNT_MISMATCH = "amount_mismatch"
    TAX_MISMATCH = "tax_mismatch"
    FX_MISMATCH = "fx_mismatch"
    DATE_MISMATCH = "date_mismatch"
    VOIDED_IN_LEDGER = "voided_in_ledger"
    DELETED_IN_LEDGER = "deleted_in_ledger"
    DUPLICATE_IN_LEDGER = "duplicate_in_ledger"
    ROUNDING = "rounding"
    #: A return the RMS holds that was never posted because it is held (quarantined) for a person.
    NOT_POSTED_QUARANTINED = "not_posted_quarantined"
    #: A tracked item's quantity on the document differs (the ledger moved stock and cost of goods
    #: sold by another quantity); no money difference of its own.
    QUANTITY_MISMATCH = "quantity_mismatch"


@dataclass(frozen=True, slots=True)
class Period:
    """Inclusive ledger dates ``start``…``end`` (the organization's local dates)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigurationError(f"The period ends ({self.end}) before it starts ({self.start})",
                                     action="give the earlier date as the start and the later as the end")

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Expected:
    """One document we intended to post (an outbox row), with the values the ledger should show."""

    key: str
    doc_type: str
    role: str
    status: str                  # outbox status
    total: Decimal | None
    currency: str | None
    txn_date: date | None
    remote_id: str | None = None
    tax: Decimal | None = None   # None: not predicted (the ledger computes it), so not compared
    rate: Decimal | None = None  # the exchange rate we sent (platform convention), None for home currency
    rma: str | None = None
    outbox_id: int | None = None
    return_id: int | None = None
    recent: bool = False         # not yet due in the ledger (queued within the grace window)
    #: (item, quantity) per item the lines we sent carry (the platform's ``items_of``); None: not known
    items: tuple[tuple[str, Decimal | None], ...] | None = None


@dataclass(frozen=True, slots=True)
class RmsReturn:
    """A return of the local RMS mirror (latest revision) in the period."""

    return_id: int
    rma: str
    currency: str
    refund_total: Decimal | None
    day: date | None
    has_documents: bool
    sync_status: str
    #: The record's own currency text when it is not a currency (``currency`` is then the
    #: organization's home currency, in which the return is counted); None when it is readable.
    unreadable_currency: str | None = None


@dataclass
class VarianceFinding:
    """One disagreement, before it is stored: ``fields`` is ``{name: {"rms": …, "ledger": …}}``."""

    variance_class: VarianceClass
    rma: str | None
    ledger_id: str | None
    key: str | None
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    currency: str | None = None
    difference_minor: int | None = None
    outbox_id: int | None = None
    return_id: int | None = None
    doc_type: str | None = None
    #: Its part of the difference in other currencies (a document whose currency the ledger changed).
    effects: tuple[tuple[str, int], ...] = ()

    @property
    def identity(self) -> str:
        """Stable across runs: the same problem found again is the same variance, not a new one."""
        return f"{self.variance_class.value}|{self.key or ''}|{self.ledger_id or ''}|{self.rma or ''}"

    def to_json(self) -> dict[str, Any]:
        return {"class": self.variance_class.value, "rma": self.rma, "ledger_id": self.ledger_id,
                "key": self.key, "doc_type": self.doc_type, "currency": self.currency,
                "difference_minor": self.difference_minor, "fields": self.fields,
                "effects": [{"currency": c, "difference_minor": m} for c, m in self.effects]}
