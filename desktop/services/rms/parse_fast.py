"""The parser's fast paths: the usual well-formed entry of a return, read at once.

Each function here decides only the case where every check of the full reader
(:mod:`desktop.services.rms.parse`) would pass, and then returns exactly what the full reader
returns; for anything else it returns ``None`` — having noted nothing and changed nothing — and the
full reader reads the entry again, with its usual problems (same codes, fields and messages). Only
exact ``dict``s are taken (an entry behind any other mapping always goes the full way: the
differential test ``tests/fuzz/test_fuzz_rms_parse_fast.py`` reads each record both ways).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeGuard

from desktop.services.core.domain import Fee, ReturnLine, TaxAmount
from desktop.services.core.enums import FeeType
from desktop.services.core.money import Money
from desktop.services.rms.context import OrgContext

__all__ = ["plain_fee", "plain_line", "plain_tax", "plain_taxes"]

#: A tax rate the full check takes as it is: unsigned, no surrounding space.
_PLAIN_RATE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
#: A quantity the full check takes as it is, as text: unsigned digits, at most 9 (always < 2**31).
_PLAIN_QUANTITY = re.compile(r"[0-9]{1,9}")
_MAX_INT32 = 2**31 - 1
_PARSE = Money.parse_plain


def _text(value: object, max_len: int | None = 64) -> TypeGuard[str]:
    """Text the full reader takes as it is: a ``str``, not blank, within ``max_len``."""
    return type(value) is str and bool(value) and not value.isspace() and (max_len is None or len(value) <= max_len)


#: Rate text → the rate in percent, for rates read before (an organization has a handful; bounded,
#: short texts only: at most 20 digits, shifted exactly in the default 28-digit context).
_RATES: dict[str, Decimal] = {}
_MAX_RATES = 256


def plain_tax(item: object, seen: set[str], jurisdictions: Mapping[str, Any], currency: str) -> TaxAmount | None:
    """A tax entry: a known jurisdiction not seen yet on this line, an unsigned plain rate, a plain
    amount, no other currency. Adds its jurisdiction to ``seen`` when taken."""
    if type(item) is not dict:
        return None
    get = item.get
    code, rate_text = get("jurisdiction"), get("rate")
    if not (_text(code) and code in jurisdictions and code not in seen and type(rate_text) is str
            and get("currency") in (None, currency)):
        return None
    rate = _RATES.get(rate_text)
    if rate is None:
        if not _PLAIN_RATE.fullmatch(rate_text):
            return None
        # The contract states rates as fractions; the domain keeps percent (×100, exact).
        rate = Decimal(rate_text).scaleb(2)
        if len(_RATES) < _MAX_RATES and len(rate_text) <= 20:
            _RATES[rate_text] = rate
    amount = _PARSE(get("amount"), currency)  # type: ignore[arg-type]  # not text: None
    if amount is None:
        return None
    seen.add(code)
    return TaxAmount(jurisdiction=code, rate=rate, amount=amount)


def plain_taxes(raw: object, jurisdictions: Mapping[str, Any], currency: str) -> tuple[TaxAmount, ...] | None:
    """A tax list whose every entry :func:`plain_tax` takes."""
    if type(raw) is not list:
        return None
    seen: set[str] = set()
    out = []
    for item in raw:
        tax = plain_tax(item, seen, jurisdictions, currency)
        if tax is None:
            return None
        out.append(tax)
    return tuple(out)


def plain_line(raw: object, seen_ids: set[str], ctx: OrgContext, currency: str) -> ReturnLine | None:
    """A returned line (``lines[i]``) every check passes; its line id joins ``seen_ids`` when taken."""
    if type(raw) is not dict:
        return None
    get = raw.get
    line_id, sku, description = get("line_id"), get("sku"), get("description")
    reason, disposition, own = get("reason_code"), get("disposition"), get("currency")
    if not (_text(line_id) and line_id not in seen_ids and _text(sku, 100) and type(description) is str
            and _text(reason) and reason in ctx.reason_codes and _text(disposition)
            and disposition in ctx.dispositions and (own is None or own == currency)):
        return None
    quantity = get("quantity")
    if type(quantity) is str and _PLAIN_QUANTITY.fullmatch(quantity):
        quantity = int(quantity)
    if type(quantity) is not int or not 1 <= quantity <= _MAX_INT32:
        return None
    price = _PARSE(get("unit_price"), currency)  # type: ignore[arg-type]  # not text: None
    cost = get("unit_cost")
    unit_cost = None if cost is None else _PARSE(cost, currency)
    if price is None or (cost is not None and unit_cost is None):
        return None
    taxes = plain_taxes(get("tax"), ctx.jurisdictions, currency)
    if taxes is None:
        return None
    seen_ids.add(line_id)
    return ReturnLine(line_id=line_id, sku=sku, description=description, quantity=Decimal(quantity),
                      unit_price=price, reason_code=reason, disposition=disposition, taxes=taxes,
                      unit_cost=unit_cost)


def plain_fee(raw: object, ctx: OrgContext, currency: str) -> Fee | None:
    """A fee (``fees[i]``) every check passes: a known type, a plain amount, plain taxes (or none)."""
    if type(raw) is not dict:
        return None
    get = raw.get
    fee_type, own, tax = get("type"), get("currency"), get("tax")
    if not (_text(fee_type) and fee_type in ctx.fee_types and (own is None or own == currency)):
        return None
    amount = _PARSE(get("amount"), currency)  # type: ignore[arg-type]  # not text: None
    taxes = () if tax is None else plain_taxes(tax, ctx.jurisdictions, currency)
    if amount is None or taxes is None:
        return None
    return Fee(type=FeeType(fee_type), amount=amount, taxes=taxes)
