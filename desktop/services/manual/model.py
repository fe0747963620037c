"""What a person types and what the manual-entry service answers: plain values, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from desktop.services.core.domain import Problem
from desktop.services.core.money import Money
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.store.models import ManualEntryPath

__all__ = ["AUDIT_ADOPTED", "AUDIT_RECORDED", "AUDIT_REFUSED", "AdoptResult", "ExportResult",
           "ManualForm", "Prepared", "SubmitResult"]

AUDIT_REFUSED = "manual_entry.refused"
AUDIT_RECORDED = "manual_entry.recorded"
AUDIT_ADOPTED = "manual_entry.adopted"


@dataclass(frozen=True)
class ManualForm:
    """What the person typed. ``amount`` is the refund total they read off the RMS, checked."""

    org: str
    rma: str
    path: ManualEntryPath = ManualEntryPath.QUEUED
    txn_date: date | None = None
    amount: Decimal | None = None
    doc_number: str | None = None
    note: str = ""


@dataclass
class Prepared:
    """A return's documents as the sync would post them, and every reason they must not."""

    org: str
    rma: str
    return_id: int | None = None
    revision: int = 0
    platform: str = ""
    currency: str = ""
    refund: Money | None = None
    documents: list[LedgerDocument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.documents)


@dataclass
class SubmitResult:
    prepared: Prepared
    entry_ids: list[int] = field(default_factory=list)
    prevented: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.entry_ids)


@dataclass
class AdoptResult:
    matched: int = 0
    waiting: int = 0
    mismatched: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class ExportResult:
    text: str
    rows: int
    documents: int
    skipped: list[str] = field(default_factory=list)

