"""Store rows ⟷ :class:`ReturnRecord`: the exact, lossless translation both ways.

``from_row(to_rows(record, …)) == record`` for every valid record; the round trip is tested on
SQLite and PostgreSQL. Two conventions are worth knowing:

- Tax rates: the contract (and the ``return_tax_lines.rate`` column) hold a *fraction*
  (``0.0725``); :class:`~desktop.services.core.domain.TaxAmount` holds *percent* (``7.25``). The
  conversion is a decimal shift (``scaleb``), exact in both directions.
- Fee tax: ``return_tax_lines`` has no link to ``return_fees``, so a fee's tax line is stored
  with ``return_line_id`` NULL and ``tax_name`` = ``"fee:<n>"`` (the fee's 0-based position).
  Fees and tax lines are read back in id order, which is insertion order.

Quarantined records (those :func:`~desktop.services.rms.parse.parse_return` refused) become a
:func:`placeholder_row`: a ``returns`` row that keeps the raw payload and whatever columns could be
read, with stand-ins for the NOT NULL columns that could not (listed in :func:`placeholder_row`'s
return value so the quarantine reason can say so).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from desktop.services.core.domain import Customer, Fee, ReturnLine, ReturnRecord, TaxAmount
from desktop.services.core.exact_json import dumps_plain_sorted, is_plain
from desktop.services.core.money import MAX_MINOR_UNITS, Money, is_known_currency
from desktop.services.rms.parse import parse_timestamp, stored_replacements
from desktop.services.store.coltypes import json_dumps_exact
from desktop.services.store.models import (
    FeeType,
    RefundMethod,
    Return,
    ReturnFee,
    ReturnSyncStatus,
    ReturnTaxLine,
)
from desktop.services.store.models import ReturnLine as LineRow

__all__ = ["FEE_TAX_PREFIX", "NO_CURRENCY", "RowValues", "add_line_taxes", "content_digest", "from_row",
           "payload_digest", "placeholder_row", "placeholder_values", "row_values", "same_payload", "stated_revision",
           "to_rows", "unreadable_revision"]

FEE_TAX_PREFIX = "fee:"
#: ISO 4217's own code for "no currency": the stand-in when a quarantined record has none.
NO_CURRENCY = "XXX"
_MAX_CODE = 64


def payload_digest(raw: object) -> str:
    """SHA-256 of the payload's exact JSON (key order kept): a stable id for a keyless record."""
    return hashlib.sha256(json_dumps_exact(raw).encode()).hexdigest()


def same_payload(a: object, b: object) -> bool:
    """Whether two payloads say the same in JSON: key order aside, but ``0`` is not ``false`` and
    ``1.0`` is not ``1.00`` (Python's ``==`` says both are). The one test of "the same revision again"."""
    return a is b or _canonical(a) == _canonical(b)


def content_digest(raw: object, *, plain: bool = False) -> bytes:
    """SHA-256 of what :func:`same_payload` compares: equal digests ⇔ the same payload (bar a hash
    collision). What a whole-file copy check remembers per revision instead of the payload.
    ``plain``: the caller proved ``raw`` plain (``is_plain(raw, tuples=False)``), so it is not walked again."""
    return hashlib.sha256((dumps_plain_sorted(raw) if plain else _canonical(raw)).encode()).digest()


def _canonical(value: object) -> str:
    if is_plain(value, tuples=False):  # nearly every payload: one pass of the C encoder
        return dumps_plain_sorted(value)
    return json_dumps_exact(_sorted(value))


def _sorted(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _tax_values(tax: TaxAmount, *, tax_name: str | None = None) -> dict[str, Any]:
    return {"jurisdiction": tax.jurisdiction, "tax_name": tax_name, "rate": tax.rate.scaleb(-2),
            "currency": tax.amount.currency, "amount_minor": tax.amount.to_minor_units()}


def _tax_row(tax: TaxAmount, *, tax_name: str | None = None) -> ReturnTaxLine:
    return ReturnTaxLine(**_tax_values(tax, tax_name=tax_name))


@dataclass
class RowValues:
    """The column values of one return revision and its children, as plain dicts (bulk inserts).

    ``ret`` holds every ``returns`` column but ``id``; ``lines`` every ``return_lines`` column but
    ``id``/``return_id``, with ``line_taxes[i]`` the tax rows of ``lines[i]`` (they need the line's
    id); ``fees`` and ``fee_taxes`` (``tax_name`` ``fee:<n>``) need only the return's id.
    """

    ret: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)
    line_taxes: list[list[dict[str, Any]]] = field(default_factory=list)
    fees: list[dict[str, Any]] = field(default_factory=list)
    fee_taxes: list[dict[str, Any]] = field(default_factory=list)
    #: ``ret["raw_payload"]`` as its JSON column holds it, when it was encoded already (bulk inserts
    #: bind this text instead of encoding the payload again).
    raw_json: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.ret["rms_id"], self.ret["revision"]


def _return_values(org_id: int, now: datetime, raw: Mapping[str, Any], **columns: Any) -> dict[str, Any]:
    return {"organization_id": org_id, **columns, "ingested_at": now, "updated_at": now, "raw_payload": dict(raw),
            "writeback_lease_owner": None, "writeback_lease_expires_at": None}


def row_values(record: ReturnRecord, org_id: int, raw: Mapping[str, Any], now: datetime) -> RowValues:
    """The rows of a valid record (status NEW): the one translation behind :func:`to_rows` and bulk ingest."""
    currency = record.currency
    ret = _return_values(
        org_id, now, raw, rms_id=record.rms_id, revision=record.revision, rma_number=record.rma_number,
        customer_rms_id=record.customer.rms_id, customer_name=record.customer.name,
        customer_email=record.customer.email, channel=record.channel, warehouse=record.warehouse,
        currency=currency, refund_method=record.refund_method, rms_status=record.status,
        sync_status=ReturnSyncStatus.NEW, refund_total_minor=(
            record.refund_total.to_minor_units() if record.refund_total is not None else None),
        rms_created_at=record.created_at, rms_updated_at=record.updated_at)
    out = RowValues(ret)
    for n, line in enumerate(record.lines, 1):
        out.lines.append({"line_no": n, "rms_line_id": line.line_id, "sku": line.sku,
                          "description": line.description, "quantity": line.quantity,
                          "unit_price_minor": line.unit_price.to_minor_units(), "line_total_minor": None,
                          "currency": currency, "reason_code": line.reason_code, "disposition": line.disposition,
                          "unit_cost_minor": line.unit_cost.to_minor_units() if line.unit_cost is not None else None})
        out.line_taxes.append([_tax_values(tax) for tax in line.taxes])
    for i, fee in enumerate(record.fees):
        out.fees.append({"fee_type": fee.type, "description": None, "currency": currency,
                         "amount_minor": fee.amount.to_minor_units()})
        out.fee_taxes.extend(_tax_values(tax, tax_name=f"{FEE_TAX_PREFIX}{i}") for tax in fee.taxes)
    return out


def to_rows(record: ReturnRecord, org_id: int, raw: Mapping[str, Any], now: datetime) -> Return:
    """A new ``Return`` (status NEW) with its lines, fees and fee tax lines; not yet in a session.

    Line tax lines need the lines' ids: add the row, flush, then call :func:`add_line_taxes`.
    """
    values = row_values(record, org_id, raw, now)
    ret = Return(**values.ret)
    ret.lines.extend(LineRow(**line) for line in values.lines)
    ret.fees.extend(ReturnFee(**fee) for fee in values.fees)
    ret.tax_lines.extend(ReturnTaxLine(**tax) for tax in values.fee_taxes)
    return ret


def add_line_taxes(ret: Return, record: ReturnRecord) -> None:
    """Attach the line tax rows of ``record`` to ``ret`` once its lines have ids (after a flush).

    ``return_tax_lines`` points at its line by id only (there is no ORM relationship to follow),
    so ingest adds a whole page of returns, flushes once, then calls this for each and flushes
    again: two batched round trips per page instead of one per line.
    """
    for row, line in zip(sorted(ret.lines, key=lambda r: r.line_no), record.lines, strict=True):
        if row.id is None:
            raise RuntimeError("flush the return before adding its line taxes")
        for tax in line.taxes:
            tax_row = _tax_row(tax)
            tax_row.return_line_id = row.id
            ret.tax_lines.append(tax_row)


def _tax(row: ReturnTaxLine) -> TaxAmount:
    if row.rate is None:
        raise ValueError(f"tax line {row.id} has no rate; it was not written by ingest")
    return TaxAmount(jurisdiction=row.jurisdiction, rate=row.rate.scaleb(2), amount=row.amount)


def from_row(ret: Return) -> ReturnRecord:
    """The validated record a ``Return`` row (with its children loaded) holds.

    Raises:
        ValueError: the row is a quarantined placeholder (it holds no validated record).
    """
    if ret.sync_status is ReturnSyncStatus.QUARANTINED and not ret.lines:
        raise ValueError(f"return {ret.rms_id} revision {ret.revision} was quarantined at ingest; "
                         "only its raw payload is kept")
    taxes = sorted(ret.tax_lines, key=lambda t: t.id)
    by_line: dict[int, list[TaxAmount]] = {}
    by_fee: dict[int, list[TaxAmount]] = {}
    for t in taxes:
        if t.return_line_id is not None:
            by_line.setdefault(t.return_line_id, []).append(_tax(t))
        elif t.tax_name and t.tax_name.startswith(FEE_TAX_PREFIX):
            by_fee.setdefault(int(t.tax_name.removeprefix(FEE_TAX_PREFIX)), []).append(_tax(t))
    lines = tuple(
        ReturnLine(line_id=row.rms_line_id or "", sku=row.sku or "", description=row.description or "",
                   quantity=row.quantity, unit_price=row.unit_price, reason_code=row.reason_code or "",
                   disposition=row.disposition or "", taxes=tuple(by_line.get(row.id, ())), unit_cost=row.unit_cost)
        for row in sorted(ret.lines, key=lambda r: r.line_no)
    )
    fees = tuple(Fee(type=FeeType(row.fee_type), amount=row.amount, taxes=tuple(by_fee.get(i, ())))
                 for i, row in enumerate(sorted(ret.fees, key=lambda f: f.id)))
    org = ret.raw_payload.get("organization") if isinstance(ret.raw_payload, Mapping) else None
    return ReturnRecord(
        rms_id=ret.rms_id, rma_number=ret.rma_number, revision=ret.revision,
        org_code=str(org) if org is not None else "",
        customer=Customer(rms_id=ret.customer_rms_id or "", name=ret.customer_name or "",
                          email=ret.customer_email or ""),
        channel=ret.channel or "", warehouse=ret.warehouse or "", currency=ret.currency,
        created_at=ret.rms_created_at, updated_at=ret.rms_updated_at, refund_method=RefundMethod(ret.refund_method),
        status=ret.rms_status, lines=lines, fees=fees, refund_total=ret.refund_total,
        posting_round=ret.posting_round or 0, replacements=stored_replacements(ret.raw_payload, ret.currency),
    )


def _short_text(raw: Mapping[str, Any], key: str, limit: int = _MAX_CODE) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value and len(value) <= limit else None


def unreadable_revision(payload: Mapping[str, Any]) -> int:
    """The stand-in for a revision that cannot be read: a negative number drawn from the payload's
    digest. Negative, so every real revision (1 up) is newer; from the digest, so two different
    unreadable revisions of one return are two rows (both quarantined, neither dropped as a
    conflict) while the same payload again is still a no-op."""
    return -1 - int(payload_digest(payload)[:7], 16)


def stated_revision(revision: int, payload: object) -> int:
    """The revision the RMS stated for a row keyed ``revision``: that key, unless it is a stand-in
    (negative) for a payload that does state a readable one — a conflicting copy, kept under a
    stand-in because its first copy holds the key (:mod:`desktop.services.rms.copies`)."""
    if revision >= 1 or not isinstance(payload, Mapping):
        return revision
    stated = payload.get("revision")
    return stated if isinstance(stated, int) and not isinstance(stated, bool) and 1 <= stated < 2**31 else revision


def placeholder_row(raw: object, org_id: int, now: datetime) -> tuple[Return, list[str]]:
    """A QUARANTINED ``Return`` that keeps ``raw`` and every column that could be read
    (:func:`placeholder_values` as a row)."""
    values, stand_ins = placeholder_values(raw, org_id, now)
    return Return(**values), stand_ins


def placeholder_values(raw: object, org_id: int, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """The ``returns`` columns of a QUARANTINED revision that keeps ``raw`` and every column that could be read.

    Returns the row and the names of the columns that hold stand-ins (say so to the person
    fixing the record): ``rms_id`` → ``"missing-id:<digest>"`` (stable, so a replay is still a
    no-op), ``revision`` → :func:`unreadable_revision`, ``rma_number`` → ``"(unknown)"``, ``currency`` → ``XXX``,
    ``refund_method`` → ``original_payment``, ``rms_status`` → ``"(unknown)"``, the RMS times → the
    time of ingest.
    """
    payload: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {"_unreadable": raw}
    stand_ins: list[str] = []
    rms_id = _short_text(payload, "id")
    if rms_id is None:
        rms_id = f"missing-id:{payload_digest(payload)[:40]}"
        stand_ins.append("rms_id")
    revision = payload.get("revision")
    if isinstance(revision, str) and revision.strip().isdigit() and len(revision.strip()) <= 10:
        revision = int(revision.strip())
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1 or revision > 2**31 - 1:
        revision = unreadable_revision(payload)
        stand_ins.append("revision")
    rma = _short_text(payload, "rma_number")
    if rma is None:
        rma = "(unknown)"
        stand_ins.append("rma_number")
    currency = payload.get("currency")
    if not (isinstance(currency, str) and is_known_currency(currency)):
        currency = NO_CURRENCY
        stand_ins.append("currency")
    try:
        method = RefundMethod(str(payload.get("refund_method")))
    except ValueError:
        method = RefundMethod.ORIGINAL_PAYMENT
        stand_ins.append("refund_method")
    status = _short_text(payload, "status", 40)
    if status is None:
        status = "(unknown)"
        stand_ins.append("rms_status")
    times: dict[str, datetime] = {}
    for key in ("created_at", "updated_at"):
        value = payload.get(key)
        parsed = parse_timestamp(value) if isinstance(value, str) else None
        if parsed is None:
            stand_ins.append(f"rms_{key}")
        times[key] = parsed or now
    customer = payload.get("customer") if isinstance(payload.get("customer"), Mapping) else {}
    assert isinstance(customer, Mapping)
    total = payload.get("refund_total")
    total_minor: int | None = None
    if currency != NO_CURRENCY and isinstance(total, str):
        try:
            amount = Money.parse(total, currency)
            # Only a figure the column can hold: the stand-in row of an out-of-range record must
            # still save, or the whole page (and every later pull of it) would fail on it.
            if amount.is_quantized() and abs(amount.to_minor_units()) <= MAX_MINOR_UNITS:
                total_minor = amount.to_minor_units()
        except ValueError:
            pass
    values = _return_values(
        org_id, now, payload, rms_id=rms_id, revision=revision, rma_number=rma,
        customer_rms_id=_short_text(customer, "id"), customer_name=_short_text(customer, "name", 255),
        customer_email=_short_text(customer, "email", 255), channel=_short_text(payload, "channel"),
        warehouse=_short_text(payload, "warehouse"), currency=currency, refund_method=method,
        rms_status=status, sync_status=ReturnSyncStatus.QUARANTINED, refund_total_minor=total_minor,
        rms_created_at=times["created_at"], rms_updated_at=times["updated_at"])
    return values, stand_ins
