"""The money rules every recipe shares, written once: exact sums, the refund, tax rates and the
ledger's tax rounding, and how far two correct roundings may differ.

Rounding rules (named, applied only here and in ``LedgerDocument.home_journal``):

- Line net: half-even to the minor unit (``ReturnLine.net``'s rule).
- ``LEDGER_TAX``: half-up to the minor unit, per tax rate on the aggregated base — how QBO
  computes ``TxnTaxDetail`` (and what the emulator mirrors); used only to *predict* a ledger's
  figure so the difference to the RMS's per-line tax can be posted as an explicit rounding line.
- FX conversion: half-even, once per side total, then allocated (``LedgerDocument.home_journal``).

Sums inside one currency run on plain Decimals (a Money per addition is what made recipes slow)
in an exact context: anything that would round raises instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow

from desktop.services.core.domain import FEE_REFUND_SIGN, ReturnRecord, TaxAmount
from desktop.services.core.money import Money, Rounding, minor_units

LEDGER_TAX = Rounding.HALF_UP
ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_EXACT = Context(prec=100, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
QUANTUM = {n: Decimal(1).scaleb(-n) for n in range(0, 5)}


def dsum(values: Iterable[Decimal]) -> Decimal:
    """Exact sum of Decimals (raises rather than round)."""
    add = _EXACT.add
    total = ZERO
    for v in values:
        total = add(total, v)
    return total


def msum(items: Iterable[Money], currency: str) -> Money:
    """Exact total of amounts all in ``currency``, building one Money instead of one per step."""
    total = ZERO
    add = _EXACT.add
    for item in items:
        if item.currency != currency:
            raise ValueError(f"cannot add {item.currency} to a {currency} total")
        total = add(total, item.amount)
    return Money(total, currency)


def line_net(unit_price: Money, quantity: Decimal) -> Money:
    """``ReturnLine.net``'s rule (quantity × price, half-even to the minor unit), as one Money."""
    cur = unit_price.currency
    return Money((unit_price.amount * quantity).quantize(QUANTUM[minor_units(cur)], rounding=Rounding.HALF_EVEN),
                 cur)


def refund_amount(ret: ReturnRecord) -> Decimal:
    """``ret.computed_refund()`` in plain Decimals — same rule (line net half-even, taxes and
    fees as stated, fee signs by type, less an exchange's replacements), a property test keeps the two equal."""
    q = QUANTUM[minor_units(ret.currency)]
    add = _EXACT.add
    total = ZERO
    for ln in ret.lines:
        total = add(total, (ln.unit_price.amount * ln.quantity).quantize(q, rounding=Rounding.HALF_EVEN))
        for t in ln.taxes:
            total = add(total, t.amount.amount)
    for f in ret.fees:
        sign = FEE_REFUND_SIGN[f.type]
        if sign:
            total = add(total, f.amount.amount * sign)
            for t in f.taxes:
                total = add(total, t.amount.amount * sign)
    for ln in ret.replacements:  # an exchange's replacement goods are set against the refund
        total = add(total, -(ln.unit_price.amount * ln.quantity).quantize(q, rounding=Rounding.HALF_EVEN))
        for t in ln.taxes:
            total = add(total, -t.amount.amount)
    return total


def percent(tax: TaxAmount, base: Money) -> Decimal:
    """The tax's rate in percent. The domain says percent, the RMS wire says a fraction (0.0725):
    take whichever reproduces the RMS's own amount on this base, so either source works."""
    rate = tax.rate
    if rate == 0 or base.is_zero():
        return rate
    places = minor_units(base.currency)
    want = tax.amount.amount
    as_pct = abs(ledger_tax(base.amount, rate, places) - want)
    as_frac = abs(ledger_tax(base.amount, rate * _HUNDRED, places) - want)
    return rate * _HUNDRED if as_frac < as_pct else rate


def ledger_tax(base: Decimal, pct: Decimal, places: int) -> Decimal:
    """Tax as the ledger computes it: base × pct / 100, half-up to the minor unit (``LEDGER_TAX``)."""
    return (base * pct / _HUNDRED).quantize(QUANTUM[places], rounding=ROUND_HALF_UP)


def tolerance(currency: str, count: int) -> Decimal:
    """``count`` minor units: how far two correct roundings of the same tax may differ."""
    return Decimal(count).scaleb(-minor_units(currency))
