"""Read one RMS return (a JSON object per ``docs/rms-api.yaml``) into a validated ReturnRecord.

:func:`parse_return` is a pure function returning ``(record, problems)`` in the beancount way:
it never raises on bad data, and it collects *every* problem of a record, not just the first,
so a finance admin fixes a record in one go instead of one round trip per mistake. Each problem
has a stable ``code`` (for filters and metrics), a ``field`` path (``lines[1].unit_price``,
0-based) and a message that names the line by its 1-based number and SKU and says what to do.

Money is read only from decimal *strings*. A JSON number is refused even when it looks harmless:
an exporter that writes numbers has usually been through binary floating point already, and a
cent lost there cannot be recovered here. Amounts must also fit the currency's minor unit — the
contract rounds every amount, and the store keeps integer minor units.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Any

from desktop.services.core.domain import FEE_REFUND_SIGN, Customer, Fee, Problem, ReturnLine, ReturnRecord, TaxAmount
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import (
    MAX_INTEGER_DIGITS,
    MAX_MINOR_UNITS,
    InvalidAmount,
    Money,
    is_known_currency,
    minor_units,
)
from desktop.services.rms.context import OrgContext
from desktop.services.rms.parse_fast import plain_fee, plain_line, plain_tax

__all__ = ["FILE_FIX", "RMS_FIX", "parse_return", "parse_timestamp", "problem_json", "stored_replacements"]

#: How a person fixes a record that came from the RMS API.
RMS_FIX = "correct it in the RMS; the return will be re-read when it changes."
#: How a person fixes a record that came from an export file.
FILE_FIX = "correct it in the file and import it again."

#: The reason code and disposition an exchange's replacement line carries (it has neither in the RMS).
EXCHANGE_REASON = "EXCHANGE"

_DECIMAL_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_INT_RE = re.compile(r"[+-]?[0-9]+")
#: Digits beyond which a whole number is out of every range we accept (and Python refuses to read
#: more than 4,300 digits at all): such a number reads as this bound, with its sign.
_INT_DIGITS = 20
_MAX_INT32 = 2**31 - 1   # revision is an INTEGER column
_RFC3339_RE = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<frac>[0-9]+))?(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def problem_json(problem: Problem) -> dict[str, str | None]:
    """A problem as JSON (events, quarantine details, CLI output)."""
    return {"code": problem.code, "field": problem.field, "message": problem.message}


def parse_timestamp(value: str) -> datetime | None:
    """An RFC 3339 timestamp *with* a zone, as aware UTC; ``None`` if it is anything else."""
    m = _RFC3339_RE.fullmatch(value.strip())
    if m is None:
        return None
    frac = (m.group("frac") or "")[:6].ljust(6, "0")
    zone = "+00:00" if m.group("zone") in ("Z", "z") else m.group("zone")
    try:
        parsed = datetime.fromisoformat(f"{m.group('date')}T{m.group('time')}.{frac}{zone}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # 2026-02-30, 25:00 …; 9999-12-31T23:59-01:00 is past year 9999 in UTC
        return None


def _whole(text: str) -> int:
    """A whole number matching ``_INT_RE``; past :data:`_INT_DIGITS` digits, ±10**_INT_DIGITS."""
    digits = text.strip().lstrip("+-").lstrip("0")
    if len(digits) > _INT_DIGITS:
        return -(10**_INT_DIGITS) if text.strip().startswith("-") else 10**_INT_DIGITS
    return int(text.strip())


def _usable_text(value: object, allow_empty: bool, max_len: int | None) -> bool:
    """Whether :meth:`_Reader.text` takes ``value`` as it is (a ``str``, not blank unless
    ``allow_empty``, within ``max_len``): its fast path, deciding exactly as its checks do."""
    return type(value) is str and (allow_empty or (bool(value) and not value.isspace())) and (
        max_len is None or len(value) <= max_len)


def _describe(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


class _Reader:
    """Accumulates problems while reading one payload; each reader is used once."""

    def __init__(self, ctx: OrgContext, fix: str) -> None:
        self.ctx = ctx
        self.fix = fix
        self.problems: list[Problem] = []
        self.currency: str | None = None
        #: Reading a payload already accepted (a stored one): jurisdictions were checked then.
        self.trusted = False

    def add(self, code: str, field: str, message: str) -> None:
        self.problems.append(Problem(code=code, message=f"{message} — {self.fix}", field=field))

    # --- scalars -----------------------------------------------------------------------------

    def text(self, obj: Mapping[str, Any], key: str, path: str, label: str, what: str,
             *, allow_empty: bool = False, max_len: int | None = 64) -> str | None:
        value = obj.get(key)
        if _usable_text(value, allow_empty, max_len):
            return str(value)  # the usual case, decided at once
        if key not in obj or obj[key] is None:
            self.add("missing_field", path, f"{label}: {what} is missing")
            return None
        value = obj[key]
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            self.add("invalid_value" if not isinstance(value, str) else "missing_field", path,
                     f"{label}: {what} {_describe(value)} is not usable text")
            return None
        if max_len is not None and len(value) > max_len:
            self.add("value_too_long", path, f"{label}: {what} {_describe(value)} is longer than the "
                     f"{max_len} characters the app can keep")
            return None
        return value

    def integer(self, obj: Mapping[str, Any], key: str, path: str, label: str, what: str) -> int | None:
        if key not in obj or obj[key] is None:
            self.add("missing_field", path, f"{label}: {what} is missing")
            return None
        value = obj[key]
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return _whole(value)
        return None

    def money(self, value: object, path: str, label: str, what: str, *,
              allow_negative: bool = False) -> Money | None:
        """A decimal-string amount in the return's currency (``None`` + problems if unusable)."""
        if self.currency is not None and type(value) is str:
            plain = Money.parse_plain(value, self.currency)  # the usual "12.50": every check below holds
            if plain is not None:
                return plain
        if value is None:
            self.add("missing_field", path, f"{label}: {what} is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str):
            if isinstance(value, int | float | Decimal):
                self.add("malformed_amount", path,
                         f"{label}: {what} {_describe(value)} is a JSON number; amounts must be decimal "
                         "strings such as \"12.50\" so that no cent is lost on the way")
            else:
                self.add("malformed_amount", path, f"{label}: {what} {_describe(value)} is not a decimal amount")
            return None
        currency = self.currency
        if currency is None:  # the currency itself is wrong; still check the spelling
            if not _DECIMAL_RE.fullmatch(value.strip()):
                self.add("malformed_amount", path, f"{label}: {what} {_describe(value)} is not a decimal amount")
            return None
        try:
            amount = Money.parse(value, currency)
        except InvalidAmount as exc:
            if " is in " in str(exc):
                self.add("currency_mismatch", path,
                         f"{label}: {what} {_describe(value)} is not in the return's currency {currency}")
            else:
                self.add("malformed_amount", path, f"{label}: {what} {_describe(value)} is not a decimal amount")
            return None
        if not amount.is_quantized():
            self.add("too_many_decimals", path,
                     f"{label}: {what} {_describe(value)} has more decimals than {currency} allows "
                     f"({minor_units(currency)})")
            return None
        if abs(amount.to_minor_units()) > MAX_MINOR_UNITS:
            self.add("amount_out_of_range", path, f"{label}: {what} {_describe(value)} is too large to be real")
            return None
        if amount.amount < 0 and not allow_negative:
            self.add("negative_amount", path, f"{label}: {what} {_describe(value)} is negative; "
                     "the RMS states amounts as positive numbers")
            return None
        return amount

    def timestamp(self, obj: Mapping[str, Any], key: str, label: str) -> datetime | None:
        if key not in obj or obj[key] is None:
            self.add("missing_field", key, f"{label}: {key} is missing")
            return None
        value = obj[key]
        parsed = parse_timestamp(value) if isinstance(value, str) else None
        if parsed is None:
            self.add("bad_timestamp", key, f"{label}: {key} {_describe(value)} is not an RFC 3339 time with a "
                     "time zone (e.g. 2026-11-27T09:30:00.123Z)")
        return parsed

    def own_currency(self, obj: Mapping[str, Any], path: str, label: str) -> None:
        """A line, fee or tax entry that names its own currency must name the return's."""
        value = obj.get("currency")
        if value is not None and self.currency is not None and value != self.currency:
            self.add("currency_mismatch", f"{path}.currency",
                     f"{label}: currency {_describe(value)} differs from the return's currency {self.currency}")

    # --- structures --------------------------------------------------------------------------

    def taxes(self, raw: object, path: str, label: str, *, required: bool) -> tuple[TaxAmount, ...] | None:
        if raw is None:
            if required:
                self.add("missing_field", path, f"{label}: the tax list is missing (send [] when untaxed)")
                return None
            return ()
        if not isinstance(raw, list):
            self.add("invalid_value", path, f"{label}: tax must be a list of tax lines")
            return None
        out: list[TaxAmount] = []
        seen: set[str] = set()
        ok = True
        jurisdictions, currency = self.ctx.jurisdictions, self.currency
        for j, item in enumerate(raw):
            if currency is not None:  # the usual well-formed entry, decided at once
                fast = plain_tax(item, seen, jurisdictions, currency)
                if fast is not None:
                    out.append(fast)
                    continue
            where = f"{path}[{j}]"
            if not isinstance(item, Mapping):
                self.add("invalid_value", where, f"{label}: tax line {j + 1} is not an object")
                ok = False
                continue
            code = self.text(item, "jurisdiction", f"{where}.jurisdiction", label,
                             f"tax line {j + 1}'s jurisdiction")
            if code is not None:
                if code not in self.ctx.jurisdictions and not self.trusted:
                    known = ", ".join(sorted(self.ctx.jurisdictions)) or "none"
                    self.add("unknown_tax_jurisdiction", f"{where}.jurisdiction",
                             f"{label}: tax jurisdiction {code!r} is not one of {self.ctx.org_code}'s "
                             f"jurisdictions ({known})")
                    code = None
                elif code in seen:
                    self.add("duplicate_tax_jurisdiction", f"{where}.jurisdiction",
                             f"{label}: tax jurisdiction {code} appears twice")
                    code = None
                else:
                    seen.add(code)
            rate = self._rate(item.get("rate"), f"{where}.rate", label)
            self.own_currency(item, where, label)
            amount = self.money(item.get("amount"), f"{where}.amount", label, f"tax ({code or 'unknown'})")
            if code is None or rate is None or amount is None:
                ok = False
                continue
            # The contract states rates as fractions; the domain keeps percent (×100, exact).
            out.append(TaxAmount(jurisdiction=code, rate=rate.scaleb(2), amount=amount))
        return tuple(out) if ok else None

    def _rate(self, value: object, path: str, label: str) -> Decimal | None:
        if value is None:
            self.add("missing_field", path, f"{label}: the tax rate is missing")
            return None
        if not isinstance(value, str) or not _DECIMAL_RE.fullmatch(value.strip()):
            self.add("malformed_rate", path, f"{label}: tax rate {_describe(value)} is not a decimal string "
                     "holding a fraction (e.g. \"0.0725\" for 7.25 %)")
            return None
        rate = Decimal(value.strip())
        if rate < 0:
            self.add("malformed_rate", path, f"{label}: tax rate {_describe(value)} is negative")
            return None
        return rate

    def quantity(self, line: Mapping[str, Any], path: str, label: str) -> Decimal | None:
        value = line.get("quantity")
        if value is None:
            self.add("missing_field", path, f"{label}: quantity is missing")
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            number = _whole(value)
        if number is None:
            self.add("malformed_quantity", path, f"{label}: quantity {_describe(value)} is not a whole number")
            return None
        if number < 0:
            self.add("negative_quantity", path, f"{label}: quantity {_describe(value)} is negative; a return line "
                     "states how many units came back")
            return None
        if number > _MAX_INT32:
            self.add("malformed_quantity", path, f"{label}: quantity {_describe(value)} is too large to be real")
            return None
        if number == 0:
            self.add("zero_quantity", path, f"{label}: quantity is 0; remove the line or state the units returned")
            return None
        return Decimal(number)

    def entries(self, payload: Mapping[str, Any], key: str, label: str, missing: str,
                empty: str | None = None) -> list[object] | None:
        """The list under ``key``; None, with the problem noted, when it is missing, not a list, or
        empty where ``empty`` says why an empty one is wrong (a return's lines; fees may be none)."""
        raw = payload.get(key)
        if raw is None:
            self.add("missing_field", key, f"{label}: {missing}")
            return None
        if not isinstance(raw, list):
            self.add("invalid_value", key, f"{label}: {key} must be a list")
            return None
        if empty is not None and not raw:
            self.add("no_lines", key, f"{label}: {empty}")
            return None
        return raw

    def _entry(self, collection: str, noun: str, i: int, raw: object, name_key: str,
               name_prefix: str = "") -> tuple[Mapping[str, Any], str, str] | None:
        """Entry ``i`` of ``collection`` with its path and the label people read ("Line 2 (SKU AB-1)");
        None, with the problem noted, when it is not an object."""
        path = f"{collection}[{i}]"
        if not isinstance(raw, Mapping):
            self.add("invalid_value", path, f"{noun} {i + 1}: is not an object")
            return None
        name = raw.get(name_key)
        label = f"{noun} {i + 1} ({name_prefix}{name})" if isinstance(name, str) and name else f"{noun} {i + 1}"
        return raw, path, label

    def line(self, i: int, raw: object, seen_ids: set[str]) -> ReturnLine | None:
        if self.currency is not None:  # the usual well-formed line, decided at once
            fast = plain_line(raw, seen_ids, self.ctx, self.currency)
            if fast is not None:
                return fast
        entry = self._entry("lines", "Line", i, raw, "sku", "SKU ")
        if entry is None:
            return None
        raw, path, label = entry
        before = len(self.problems)
        line_id = self.text(raw, "line_id", f"{path}.line_id", label, "line id")
        if line_id is not None:
            if line_id in seen_ids:
                self.add("duplicate_line_id", f"{path}.line_id", f"{label}: line id {line_id!r} appears twice")
            seen_ids.add(line_id)
        sku_text, description, quantity, price = self._goods(raw, path, label)
        reason = self._code(raw, "reason_code", path, label, "reason code", self.ctx.reason_codes,
                            "unknown_reason_code")
        disposition = self._code(raw, "disposition", path, label, "disposition", self.ctx.dispositions,
                                 "unknown_disposition")
        taxes = self.taxes(raw.get("tax"), f"{path}.tax", label, required=True)
        # optional: the RMS's cost of one unit; absent (or null) when the RMS does not know it
        cost = raw.get("unit_cost")
        unit_cost = None if cost is None else self.money(cost, f"{path}.unit_cost", label, "unit cost")
        if len(self.problems) > before or None in (line_id, sku_text, description, quantity, price, reason,
                                                    disposition, taxes):
            return None
        assert line_id is not None and sku_text is not None and description is not None
        assert quantity is not None and price is not None and reason is not None
        assert disposition is not None and taxes is not None
        return ReturnLine(line_id=line_id, sku=sku_text, description=description, quantity=quantity,
                          unit_price=price, reason_code=reason, disposition=disposition, taxes=taxes,
                          unit_cost=unit_cost)

    def replacement(self, i: int, raw: object) -> ReturnLine | None:
        """Replacement ``i`` of an exchange (``exchange.lines[i]``): sku, description, quantity, unit
        price and tax like a returned line, without reason code or disposition."""
        entry = self._entry("exchange.lines", "Replacement", i, raw, "sku", "SKU ")
        if entry is None:
            return None
        raw, path, label = entry
        before = len(self.problems)
        sku_text, description, quantity, price = self._goods(raw, path, label)
        taxes = self.taxes(raw.get("tax"), f"{path}.tax", label, required=True)
        if len(self.problems) > before or None in (sku_text, description, quantity, price, taxes):
            return None
        assert sku_text is not None and description is not None and quantity is not None
        assert price is not None and taxes is not None
        return ReturnLine(line_id=f"X{i + 1}", sku=sku_text, description=description, quantity=quantity,
                          unit_price=price, reason_code=EXCHANGE_REASON, disposition=EXCHANGE_REASON, taxes=taxes)

    def _goods(self, raw: Mapping[str, Any], path: str, label: str
               ) -> tuple[str | None, str | None, Decimal | None, Money | None]:
        """What a returned line and an exchange's replacement both state: SKU, description, quantity,
        their currency (the return's own) and unit price — in that order, so problems read in it."""
        sku_text = self.text(raw, "sku", f"{path}.sku", label, "SKU", max_len=100)
        description = self.text(raw, "description", f"{path}.description", label, "description",
                                allow_empty=True, max_len=None)
        quantity = self.quantity(raw, f"{path}.quantity", label)
        self.own_currency(raw, path, label)
        price = self.money(raw.get("unit_price"), f"{path}.unit_price", label, "unit price")
        return sku_text, description, quantity, price

    def _code(self, raw: Mapping[str, Any], key: str, path: str, label: str, what: str,
              known: frozenset[str], unknown_code: str) -> str | None:
        value = self.text(raw, key, f"{path}.{key}", label, what)
        if value is not None and value not in known:
            self.add(unknown_code, f"{path}.{key}",
                     f"{label}: {what} {value!r} is not one the ledger mapping knows ({', '.join(sorted(known))})")
            return None
        return value

    def fee(self, i: int, raw: object) -> Fee | None:
        if self.currency is not None:
            fast = plain_fee(raw, self.ctx, self.currency)
            if fast is not None:
                return fast
        entry = self._entry("fees", "Fee", i, raw, "type")
        if entry is None:
            return None
        raw, path, label = entry
        before = len(self.problems)
        fee_type = self._code(raw, "type", path, label, "fee type", self.ctx.fee_types, "unknown_fee_type")
        self.own_currency(raw, path, label)
        amount = self.money(raw.get("amount"), f"{path}.amount", label, "amount")
        taxes = self.taxes(raw.get("tax"), f"{path}.tax", label, required=False)
        if len(self.problems) > before or fee_type is None or amount is None or taxes is None:
            return None
        return Fee(type=FeeType(fee_type), amount=amount, taxes=taxes)


def stored_replacements(payload: object, currency: str) -> tuple[ReturnLine, ...]:
    """An exchange's replacement lines from a payload :func:`parse_return` already accepted (the
    stored raw payload: replacements have no table of their own)."""
    exchange = payload.get("exchange") if isinstance(payload, Mapping) else None
    if not isinstance(exchange, Mapping) or not isinstance(exchange.get("lines"), list):
        return ()
    r = _Reader(OrgContext(org_code="", currencies=(currency,)), RMS_FIX)
    r.currency, r.trusted = currency, True
    found = [r.replacement(i, item) for i, item in enumerate(exchange["lines"])]
    return tuple(x for x in found if x is not None)


def parse_return(payload: object, ctx: OrgContext, *, fix: str = RMS_FIX) -> tuple[ReturnRecord | None, list[Problem]]:
    """Validate one return revision; ``(record, [])`` when clean, ``(None, problems)`` otherwise.

    Args:
        payload: the ``Return`` object as the RMS sent it (parsed with ``parse_float=Decimal``).
        ctx: the organization the record is expected to belong to.
        fix: the closing advice of every message (:data:`RMS_FIX` or :data:`FILE_FIX`).
    """
    r = _Reader(ctx, fix)
    if not isinstance(payload, Mapping):
        r.add("invalid_value", "", f"The record is a {type(payload).__name__}, not a return object")
        return None, r.problems
    rid = payload.get("id")
    rma = payload.get("rma_number")
    label = f"Return {rma}" if isinstance(rma, str) and rma else (f"Return {rid}" if isinstance(rid, str) else "Return")

    rms_id = r.text(payload, "id", "id", label, "the RMS id")
    rma_number = r.text(payload, "rma_number", "rma_number", label, "RMA number")
    revision = r.integer(payload, "revision", "revision", label, "revision")
    if "revision" in payload and payload["revision"] is not None and (
            revision is None or not 1 <= revision <= _MAX_INT32):
        r.add("invalid_value", "revision", f"{label}: revision {_describe(payload['revision'])} is not a "
              "whole number from 1 up")
        revision = None
    org = r.text(payload, "organization", "organization", label, "organization code")
    if org is not None and org != ctx.org_code:
        r.add("wrong_organization", "organization",
              f"{label}: belongs to organization {org!r}, but it is being imported into {ctx.org_code!r}")

    currency = r.text(payload, "currency", "currency", label, "currency")
    if currency is not None:
        if not is_known_currency(currency):
            r.add("wrong_currency", "currency", f"{label}: currency {currency!r} is not an ISO 4217 code")
        elif currency not in ctx.currencies:
            r.add("wrong_currency", "currency", f"{label}: currency {currency} is not one {ctx.org_code} books "
                  f"returns in ({', '.join(ctx.currencies)})")
        else:
            r.currency = currency

    customer = _customer(r, payload, label)
    channel = r.text(payload, "channel", "channel", label, "channel")
    warehouse = r.text(payload, "warehouse", "warehouse", label, "warehouse")
    status = r.text(payload, "status", "status", label, "status", max_len=40)
    method_text = r.text(payload, "refund_method", "refund_method", label, "refund method")
    method: RefundMethod | None = None
    if method_text is not None:
        try:
            method = RefundMethod(method_text)
        except ValueError:
            r.add("unknown_refund_method", "refund_method",
                  f"{label}: refund method {method_text!r} is not one of "
                  f"{', '.join(m.value for m in RefundMethod)}")
    created = r.timestamp(payload, "created_at", label)
    updated = r.timestamp(payload, "updated_at", label)
    refund_total = r.money(payload.get("refund_total"), "refund_total", label, "refund total",
                           allow_negative=True)

    lines: list[ReturnLine | None] = []
    raw_lines = r.entries(payload, "lines", label, "the list of lines is missing",
                          empty="has no lines; a return needs at least one returned item")
    if raw_lines is not None:
        seen: set[str] = set()
        lines = [r.line(i, item, seen) for i, item in enumerate(raw_lines)]

    fees: list[Fee | None] = []
    raw_fees = r.entries(payload, "fees", label, "the list of fees is missing (send [] when there are none)")
    if raw_fees is not None:
        fees = [r.fee(i, item) for i, item in enumerate(raw_fees)]

    replacements: list[ReturnLine | None] = []
    exchange = payload.get("exchange")
    if exchange is not None:
        if not isinstance(exchange, Mapping) or not isinstance(exchange.get("lines"), list):
            r.add("invalid_value", "exchange", f"{label}: exchange must be an object with a list of lines")
        elif method is not RefundMethod.EXCHANGE:
            r.add("invalid_value", "exchange", f"{label}: replacement goods are stated, but the refund method is "
                  f"{method_text!r}, not 'exchange'")
        else:
            replacements = [r.replacement(i, item) for i, item in enumerate(exchange["lines"])]

    if r.problems:
        return None, r.problems
    assert rms_id is not None and rma_number is not None and revision is not None and currency is not None
    assert customer is not None and channel is not None and warehouse is not None and status is not None
    assert method is not None and created is not None and updated is not None
    record = ReturnRecord(
        rms_id=rms_id, rma_number=rma_number, revision=revision, org_code=ctx.org_code, customer=customer,
        channel=channel, warehouse=warehouse, currency=currency, created_at=created, updated_at=updated,
        refund_method=method, status=status, lines=tuple(x for x in lines if x is not None),
        fees=tuple(f for f in fees if f is not None), refund_total=refund_total,
        replacements=tuple(x for x in replacements if x is not None),
    )
    if refund_total is not None and _adds_up(record, refund_total.amount):
        return record, []  # the usual case, decided without Money arithmetic
    computed = record.computed_refund()
    if refund_total is not None and computed != refund_total:
        r.add("refund_total_mismatch", "refund_total",
              f"{label}: the RMS states a refund total of {refund_total}, but its lines, tax and fees add up "
              f"to {computed}")
        return None, r.problems
    return record, []


#: Exact sums for :func:`_adds_up`: anything that would round raises, and the caller falls back.
_EXACT_SUM = Context(prec=100, traps=[InvalidOperation, Overflow, Inexact])


def _adds_up(record: ReturnRecord, stated: Decimal) -> bool:
    """True only when ``record.computed_refund()`` would equal ``stated`` without raising: the same
    terms (quantity × unit price — exact, as the price has at most the currency's decimals — each
    tax, each fee and its tax by :data:`FEE_REFUND_SIGN`, minus replacements) summed as plain
    Decimals. False — then :meth:`~ReturnRecord.computed_refund` decides, and words the mismatch —
    when they differ, or when some term is so large that the Money sums could refuse it."""
    add, mul = _EXACT_SUM.add, _EXACT_SUM.multiply
    total = bound = Decimal(0)
    try:
        for sign, lines in ((1, record.lines), (-1, record.replacements)):
            for line in lines:
                net = mul(line.unit_price.amount, line.quantity)
                total, bound = add(total, sign * net), add(bound, abs(net))
                for tax in line.taxes:
                    total, bound = add(total, sign * tax.amount.amount), add(bound, abs(tax.amount.amount))
        for fee in record.fees:
            fee_sign = FEE_REFUND_SIGN[fee.type]
            total, bound = add(total, fee_sign * fee.amount.amount), add(bound, abs(fee.amount.amount))
            for tax in fee.taxes:
                total, bound = add(total, fee_sign * tax.amount.amount), add(bound, abs(tax.amount.amount))
    except ArithmeticError:
        return False
    # Every partial sum of computed_refund is at most ``bound``: well under Money's integer digits.
    return bound.adjusted() < MAX_INTEGER_DIGITS - 1 and total == stated


def _customer(r: _Reader, payload: Mapping[str, Any], label: str) -> Customer | None:
    raw = payload.get("customer")
    if raw is None:
        r.add("missing_field", "customer", f"{label}: the customer is missing")
        return None
    if not isinstance(raw, Mapping):
        r.add("invalid_value", "customer", f"{label}: customer must be an object with id, name and email")
        return None
    cid = r.text(raw, "id", "customer.id", label, "the customer's id")
    name = r.text(raw, "name", "customer.name", label, "the customer's name", max_len=255)
    email = r.text(raw, "email", "customer.email", label, "the customer's email", max_len=255)
    if email is not None and ("@" not in email or email.strip() != email):
        r.add("invalid_value", "customer.email", f"{label}: customer email {email!r} is not an email address")
        return None
    if cid is None or name is None or email is None:
        return None
    return Customer(rms_id=cid, name=name, email=email)
