"""What a person types and what the manual-entry service answers: plain values, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core.domain import Problem
from desktop.services.core.money import Money
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.store.models import ManualEntryPath

__all__ = ["AUDIT_ADOPTED", "AUDIT_RECORDED", "AUDIT_REFUSED", "AdoptResult", "ExportResult",
           "ManualForm", "Prepared", "SubmitResult", "form_from_json", "form_json"]

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


def form_json(form: ManualForm) -> dict[str, Any]:
    """The form as a maker-checker request keeps it (exact decimals as text)."""
    return {"org": form.org, "rma": form.rma, "path": form.path.value,
            "txn_date": form.txn_date.isoformat() if form.txn_date else None,
            "amount": None if form.amount is None else format(form.amount, "f"),
            "doc_number": form.doc_number, "note": form.note}


def form_from_json(data: dict[str, Any]) -> ManualForm:
    return ManualForm(str(data["org"]), str(data["rma"]), ManualEntryPath(data["path"]),
                      date.fromisoformat(data["txn_date"]) if data.get("txn_date") else None,
                      None if data.get("amount") is None else Decimal(str(data["amount"])),
                      data.get("doc_number"), str(data.get("note") or ""))


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
    #: The refund in the organization's home currency at the planner's rate (None: no rate known).
    home_refund: Money | None = None
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
    #: Maker-checker: the request that waits for a second person (nothing recorded yet).
    approval_id: int | None = None

    @property
    def ok(self) -> bool:
        return bool(self.entry_ids) or self.approval_id is not None

    @property
    def awaiting_approval(self) -> bool:
        return self.approval_id is not None and not self.entry_ids


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
    #: Further files beside ``text`` (name → CSV text; the page writes each as ``<file>-<name>.csv``).
    files: dict[str, str] = field(default_factory=dict)

