"""The reconciliation bridge: RMS refunds → the ledger effect they imply → what the ledger holds.

Per currency (issue 15), three figures and the steps between them, each with its amount:

- **RMS**: the refunds of the RMS mirror's returns in the period, and apart from them the
  differences the customer pays on a dearer exchange (the RMS states those as a negative refund;
  the bridge counts them as the amount charged, positive, exactly as the sales receipt / invoice
  that charges them carries it — :func:`document_amount`, the one rule — so a charge is counted
  once, in its own row, and the refund-documents step compares like with like);
- **expected**: the ledger effect those returns imply — the documents the planner produced for
  them (the outbox rows, planned through the mapping active when they were posted: refund
  documents, refund payments, fee and label journals, each at its total) dated in the period and
  due, plus the refund of every due return that has no document at all (never posted, e.g. held
  by pre-flight: the ledger should hold it and does not; ``not_posted`` says how much of
  ``expected`` that is — it is in the RMS figure too, so it is no step between the two);
- **ledger**: the totals of the live ledger documents carrying our keys dated in the period.

``difference = ledger − expected`` and ``explained`` is the sum of the listed variances'
differences (rounding included). The comparison (:mod:`.compare`) gives every variance the part
of the difference its documents make, so the two are equal by construction; the steps from RMS
to expected say where the documents' totals differ from the refunds (fee and label journals,
refund payments, the refund documents themselves).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core.money import is_known_currency, minor_units
from desktop.services.reconcile.model import VarianceFinding

__all__ = ["STEP_LABELS", "Sums", "build_totals", "document_amount", "explained", "from_minor", "to_minor"]

ZERO = Decimal(0)

#: The steps from RMS to expected, in order, with the words a person reads.
STEP_LABELS: dict[str, str] = {
    "rms_charged": "RMS exchange differences charged (the customer pays)",
    "refund_documents": "Refund documents vs refunds (fees carried gross, rounding, timing)",
    "refund_payment": "Refund payments",
    "charge_payment": "Exchange differences paid in",
    "fee_journal": "Fee journals (fees withheld)",
    "label_journal": "Label cost journals",
    "store_credit": "Store credit moved to its liability account",
    "goods_journal": "Goods journals (returned goods at cost)",
    "vendor_credit": "Vendor credits (goods returned to the vendor)",
    "other": "Other documents",
}
#: A dearer exchange's sales receipt / invoice is its return's document as a refund receipt / credit
#: note is a refund's: compared with the RMS's charge (``rms_charged``), as refund documents are
#: with the RMS's refunds. Its Xero payment in is ``charge_payment``, as a refund's is ``refund_payment``.
_REFUND_ROLES = frozenset({"credit_memo", "refund_receipt", "credit_note", "refund", "summary", "sales_receipt",
                           "invoice"})


def _places(currency: str | None) -> int:
    return minor_units(currency) if currency and is_known_currency(currency) else 2


def to_minor(value: Decimal, currency: str | None) -> int:
    return int((value * (Decimal(10) ** _places(currency))).to_integral_value())


def from_minor(value: int, currency: str | None) -> Decimal:
    return Decimal(value).scaleb(-_places(currency))


def document_amount(refund_total: Decimal) -> Decimal:
    """What the ledger document of an RMS refund total carries: a refund as is, a dearer exchange's
    negative refund as the positive amount charged (the sales receipt / invoice total)."""
    return abs(refund_total)


def role_step(role: str) -> str:
    if role in _REFUND_ROLES:
        return "refund_documents"
    if role in STEP_LABELS:
        return role
    if role.startswith("label"):
        return "label_journal"
    if role.startswith("fee"):
        return "fee_journal"
    if role.startswith("store_credit"):
        return "store_credit"
    return "other"


@dataclass
class Sums:
    """What the comparison added up, in minor units per currency (see the module docstring)."""

    rms: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rms_charged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    expected_docs: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    not_posted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ledger: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_day: dict[tuple[str, str], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: {"rms": 0, "expected": 0, "ledger": 0}))
    by_account: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))

    def add_rms(self, currency: str, amount: Decimal, day: date | None) -> None:
        """An RMS refund total: a refund, or (negative) a dearer exchange's charge (module docstring)."""
        m = to_minor(document_amount(amount), currency)
        (self.rms_charged if amount < 0 else self.rms)[currency] += m
        self.by_day[(day.isoformat() if day else "unknown", currency)]["rms"] += m

    def add_expected(self, currency: str, amount: Decimal, day: date | None, role: str) -> None:
        m = to_minor(amount, currency)
        self.expected_docs[currency][role_step(role)] += m
        self.by_day[(day.isoformat() if day else "unknown", currency)]["expected"] += m

    def add_not_posted(self, currency: str, amount: Decimal, day: date | None) -> None:
        m = to_minor(document_amount(amount), currency)
        self.not_posted[currency] += m
        self.by_day[(day.isoformat() if day else "unknown", currency)]["expected"] += m

    def add_ledger(self, currency: str, amount: Decimal, day: date | None,
                   accounts: Iterable[tuple[str, Decimal]] = ()) -> None:
        self.ledger[currency] += to_minor(amount, currency)
        self.by_day[(day.isoformat() if day else "unknown", currency)]["ledger"] += to_minor(amount, currency)
        for account, value in accounts:
            self.by_account[(account, currency)] += value

    def expected(self, currency: str) -> int:
        return sum(self.expected_docs.get(currency, {}).values()) + self.not_posted.get(currency, 0)

    def currencies(self) -> list[str]:
        return sorted(set(self.rms) | set(self.rms_charged) | set(self.expected_docs) | set(self.not_posted)
                      | set(self.ledger))


def contributions(v: VarianceFinding) -> list[tuple[str, int]]:
    """The variance's part of the difference per currency (its main one plus any other)."""
    out = [(v.currency, v.difference_minor)] if v.currency and v.difference_minor else []
    return out + [(c, m) for c, m in v.effects if m]


def explained(variances: Iterable[VarianceFinding]) -> dict[str, int]:
    """The sum of the variances' differences per currency, in minor units."""
    out: dict[str, int] = defaultdict(int)
    for v in variances:
        for cur, m in contributions(v):
            out[cur] += m
    return dict(out)


def _steps(sums: Sums, cur: str) -> list[dict[str, str]]:
    docs = sums.expected_docs.get(cur, {})
    rms, charged = sums.rms.get(cur, 0), sums.rms_charged.get(cur, 0)
    known = {k: v for k, v in docs.items() if k != "refund_documents"}
    known["rms_charged"] = charged
    rest = sums.expected(cur) - rms - sum(known.values())
    rows: list[tuple[str, str, int]] = [("rms", "RMS refunds", rms)]
    for key, text in STEP_LABELS.items():
        amount = rest if key == "refund_documents" else known.get(key, 0)
        if amount:
            rows.append((key, text, amount))
    return [{"step": k, "label": t, "amount": format(from_minor(m, cur), "f")} for k, t, m in rows]


def build_totals(sums: Sums, variances: Iterable[VarianceFinding], documents: dict[str, int]) -> dict[str, Any]:
    """The totals of a run: the bridge per currency, per day and per account, and document counts."""
    found = explained(variances)
    by_currency: dict[str, dict[str, Any]] = {}
    for cur in sorted(set(sums.currencies()) | set(found)):
        expected, ledger = sums.expected(cur), sums.ledger.get(cur, 0)

        def money(m: int, cur: str = cur) -> str:
            return format(from_minor(m, cur), "f")

        by_currency[cur] = {
            "rms": money(sums.rms.get(cur, 0)), "rms_charged": money(sums.rms_charged.get(cur, 0)),
            "expected": money(expected),
            "local": money(sum(sums.expected_docs.get(cur, {}).values())), "ledger": money(ledger),
            "difference": money(ledger - expected), "explained": money(found.get(cur, 0)),
            "ties_out": ledger - expected == found.get(cur, 0),
            "not_posted": money(sums.not_posted.get(cur, 0)),
            "steps": [*_steps(sums, cur),
                      {"step": "expected", "label": "Expected ledger effect", "amount": money(expected)},
                      {"step": "variances", "label": "Variances listed", "amount": money(found.get(cur, 0))},
                      {"step": "ledger", "label": "Ledger", "amount": money(ledger)}],
        }
    return {
        "by_currency": by_currency,
        "by_day": [{"date": day, "currency": cur, **{k: format(from_minor(v, cur), "f") for k, v in row.items()},
                    "difference": format(from_minor(row["ledger"] - row["expected"], cur), "f")}
                   for (day, cur), row in sorted(sums.by_day.items())],
        "by_account": [{"account": a, "currency": c, "ledger": format(v, "f")}
                       for (a, c), v in sorted(sums.by_account.items())],
        "documents": documents,
    }
