"""Ledger documents: what a recipe produces and the outbox posts.

A :class:`LedgerDocument` carries two views of one posting:

- ``payload``: the exact JSON the platform receives (amounts as ``Decimal``, serialised later
  without float), with placeholders (:func:`placeholder`) for ids that exist only at posting
  time — the customer created on demand, or the CreditNote a Xero refund Payment pays out;
- ``journal``: the same posting as balanced debit/credit lines, for the preview, pre-flight's
  balance check and reconciliation. :meth:`LedgerDocument.home_journal` converts it to the home
  currency with the recorded rate and allocates the rounding remainder so it still balances.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core import exact_json
from desktop.services.core.money import Money, minor_units, sum_money
from desktop.services.pipeline.fx import FxUse
from desktop.services.platforms.registry import platform_for

CUSTOMER = "customer"


def placeholder(name: str) -> str:
    """``${name}``: a value the poster fills in (``fill``) just before sending."""
    return "${" + name + "}"


def ref_placeholder(key: str) -> str:
    """The remote id of the document with idempotency key ``key`` (posted earlier)."""
    return placeholder(f"id:{key}")


def fill(payload: Any, values: Mapping[str, str]) -> Any:
    """A copy of ``payload`` with every ``${name}`` string replaced by ``values[name]``.

    Raises ``KeyError`` for a placeholder without a value, so a half-filled document is never sent.
    """
    if isinstance(payload, str):
        if payload.startswith("${") and payload.endswith("}"):
            return values[payload[2:-1]]
        return payload
    if isinstance(payload, dict):
        return {k: fill(v, values) for k, v in payload.items()}
    if isinstance(payload, list):
        return [fill(v, values) for v in payload]
    return payload


def placeholders(payload: Any) -> set[str]:
    """Names of the placeholders still in ``payload``."""
    found: set[str] = set()
    stack = [payload]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if v.startswith("${") and v.endswith("}"):
                found.add(v[2:-1])
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return found


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One debit or credit; exactly one of the two is set and it is never negative."""

    account_id: str
    account_name: str
    debit: Money | None
    credit: Money | None
    memo: str = ""
    component: str | None = None  # what the line posts (a Component value), for pre-flight's type check

    @property
    def amount(self) -> Money:
        value = self.debit if self.debit is not None else self.credit
        assert value is not None
        return value

    @property
    def signed(self) -> Money:
        """Debit positive, credit negative (Xero ManualJournal convention)."""
        return self.debit if self.debit is not None else -self.amount

    def to_json(self) -> dict[str, str | None]:
        return {"account": self.account_name, "account_id": self.account_id,
                "debit": None if self.debit is None else f"{self.debit.amount:f}",
                "credit": None if self.credit is None else f"{self.credit.amount:f}", "memo": self.memo}


def line(account_id: str, account_name: str, amount: Money, memo: str = "", *, debit: bool,
         component: str | None = None) -> JournalLine:
    """A journal line from a signed amount: a negative debit becomes a credit and vice versa."""
    if amount.amount < 0:
        amount, debit = -amount, not debit
    return JournalLine(account_id, account_name, amount if debit else None, None if debit else amount, memo,
                       component)


@dataclass(frozen=True)
class LedgerDocument:
    role: str
    platform: str
    doc_type: str
    idempotency_key: str
    txn_date: date
    currency: str
    total: Money
    payload: dict[str, Any]
    journal: tuple[JournalLine, ...]
    source: tuple[str, str, int]            # (org_code, rms_id, revision); summary: (org, day, 0)
    mapping_version: int
    home_currency: str
    fx: FxUse | None = None
    depends_on: str | None = None           # key of a document that must be posted first
    notes: tuple[str, ...] = ()             # for people: re-dating, rounding lines, …
    #: Effect on what the customer gets back: the refund document's total, or minus the fees a
    #: separate fee journal withholds. Summed over a return's documents it equals the refund.
    refund_effect: Money | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def debits(self) -> Money:
        return sum_money((ln.debit for ln in self.journal if ln.debit is not None), self.currency)

    def credits(self) -> Money:
        return sum_money((ln.credit for ln in self.journal if ln.credit is not None), self.currency)

    def is_balanced(self) -> bool:
        """Debits equal credits, every line in the document currency and quantized to its minor unit."""
        if not self.journal:
            return False
        quantum = Decimal(1).scaleb(-minor_units(self.currency))
        debit = credit = Decimal(0)
        for ln in self.journal:
            money = ln.debit if ln.debit is not None else ln.credit
            if money is None or money.currency != self.currency:
                return False
            amount = money.amount
            if amount < 0 or amount.quantize(quantum) != amount:
                return False
            if ln.debit is not None:
                debit += amount
            else:
                credit += amount
        return debit == credit

    def home_journal(self) -> tuple[JournalLine, ...]:
        """The journal in home currency: balanced, and each side sums to the converted total
        (see :func:`convert_journal`)."""
        if self.fx is None or self.currency == self.home_currency:
            return self.journal
        return convert_journal(self.journal, self.currency, self.fx)

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role, "doc_type": self.doc_type, "key": self.idempotency_key,
            "date": self.txn_date.isoformat(), "currency": self.currency, "total": f"{self.total.amount:f}",
            "depends_on": self.depends_on, "fx": self.fx.to_json() if self.fx else None,
            "balanced": self.is_balanced(), "notes": list(self.notes),
            "journal": [ln.to_json() for ln in self.journal],
            "home_journal": [ln.to_json() for ln in self.home_journal()] if self.fx else None,
            "payload": jsonable(self.payload),
        }


def convert_journal(journal: tuple[JournalLine, ...] | list[JournalLine], currency: str,
                    fx: FxUse) -> tuple[JournalLine, ...]:
    """``journal`` (in ``currency``) in ``fx.home_currency``, still balanced.

    Rule: convert each side's total once (half-even, the named rounding of every conversion
    here), then allocate it over that side's lines in proportion to their amounts (largest
    remainder), so no cent appears or vanishes in conversion and debits still equal credits.
    """
    out: list[JournalLine | None] = [None] * len(journal)
    home = fx.home_currency
    for side in ("debit", "credit"):
        idx = [i for i, ln in enumerate(journal) if getattr(ln, side) is not None]
        if not idx:
            continue
        amounts = [journal[i].amount for i in idx]
        total = fx.to_home(sum_money(amounts, currency))
        weights = [a.amount for a in amounts]
        parts = total.allocate(weights) if any(w > 0 for w in weights) else [Money.zero(home) for _ in idx]
        for i, part in zip(idx, parts, strict=True):
            out[i] = replace(journal[i], debit=part if side == "debit" else None,
                             credit=part if side == "credit" else None)
    return tuple(ln for ln in out if ln is not None)


def body_of(doc: LedgerDocument) -> dict[str, Any]:
    """The entity object inside the payload (Xero wraps it in a one-element list)."""
    return _body(doc.platform, doc.doc_type, doc.payload)


def _body(platform: str, doc_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    return platform_for(platform).entity_of(doc_type, payload)


def jsonable(value: Any) -> Any:
    """Payload for ``json.dumps``: Decimals as exact strings (display only — posting uses exact numbers)."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


#: JSON text with every Decimal an exact JSON number: the app's one encoder (the wire form).
dumps_exact = exact_json.dumps
