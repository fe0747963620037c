"""Money: an exact ``Decimal`` amount paired with its ISO 4217 currency (DESIGN.md §4).

Built the beancount way: the ``Decimal`` is made in one place (:meth:`Money.parse` and the
constructor's checks), the currency never leaves the amount's side, and rounding happens only
where a caller asks for it (:meth:`Money.quantize`, :func:`convert`) with a *named* rule, so an
accountant can tell from the code which rule produced a cent.

Design choices worth knowing:

- Floats are refused everywhere with :class:`TypeError` — a float has already lost the cent
  before we see it, so accepting one would hide the bug instead of reporting it.
- Mixing currencies raises :class:`CurrencyMismatch`. It is a :class:`~desktop.services.core.errors.FatalError`
  (the code combined two amounts it should not have: a bug, not bad input) *and* a
  :class:`ValueError`, so generic ``except ValueError`` handlers still see it.
- Bad input (malformed strings, NaN, infinities, unknown currencies) raises :class:`InvalidAmount`
  or :class:`UnknownCurrency`, both plain :class:`ValueError` subclasses: the caller decides
  whether that is a quarantine (RMS data) or a bug.
- Addition, subtraction and multiplication are *exact*: they run in a 100-digit context that
  traps ``Inexact``, so a result that would silently lose digits raises instead.
- ``allocate``/``split_evenly`` work in integer units (the finer of the currency's minor unit
  and the amount's own scale), so the parts always sum exactly to the total.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import StrEnum
from fractions import Fraction
from typing import Any

from desktop.services.core.errors import FatalError

__all__ = [
    "MAX_MINOR_UNITS",
    "CurrencyMismatch",
    "ExchangeRate",
    "InexactMinorUnits",
    "InvalidAmount",
    "Money",
    "Rounding",
    "UnknownCurrency",
    "convert",
    "currency_code",
    "format_money",
    "is_known_currency",
    "known_currencies",
    "minor_units",
    "sum_money",
]

#: The largest amount, in minor units, an amount column holds (they are signed 64-bit BIGINTs).
#: A bigger figure cannot be real money; the parser refuses it and no stand-in row may carry it.
MAX_MINOR_UNITS = 2**63 - 1

# --- currencies -----------------------------------------------------------------------------

#: ISO 4217 currencies whose minor unit is not 2 (the ISO "List One" exponent column).
#: Active codes, plus the few withdrawn ones a ledger may still hold in old documents.
_MINOR_UNITS_NOT_TWO: dict[str, int] = {
    # zero decimals
    "BIF": 0, "BYR": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four decimals (units of account)
    "CLF": 4, "UYW": 4,
}  # fmt: skip

#: Every other known currency has 2 decimals. Active ISO 4217 codes (2025), the fund codes with a
#: defined minor unit, and withdrawn codes that Xero's ``CurrencyCode`` enum still lists.
#: Precious metals, XDR and the testing codes have no minor unit ("N.A.") and are not money here.
_TWO_DECIMAL_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EEK EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
    KZT LAK LBP LKR LRD LSL LTL LVL MAD MDL MGA MKD MMK MNT MOP MRO MRU MUR MVR MWK MXN MXV MYR
    MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD
    SHP SKK SLE SLL SOS SRD SSP STD STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN
    UYU UZS VED VEF VES WST XCD XCG YER ZAR ZMK ZMW ZWD ZWG ZWL
"""
_TWO_DECIMALS = frozenset(_TWO_DECIMAL_CODES.split())

_MINOR_UNITS: dict[str, int] = {**dict.fromkeys(_TWO_DECIMALS, 2), **_MINOR_UNITS_NOT_TWO}


class UnknownCurrency(ValueError):
    """The text is not an ISO 4217 currency code this app knows (upper-case, three letters)."""


class InvalidAmount(ValueError):
    """An amount could not be read exactly: malformed text, NaN, infinity, or too many digits."""


class InexactMinorUnits(ValueError):
    """The amount has more decimals than the currency's minor unit; quantize it first."""


class CurrencyMismatch(FatalError, ValueError):
    """Two amounts in different currencies were combined — a bug in the caller, not bad data."""

    def __init__(self, left: str, right: str, operation: str) -> None:
        super().__init__(f"cannot {operation} {left} and {right} amounts: currencies differ")
        self.left = left
        self.right = right


def is_known_currency(code: object) -> bool:
    """True if ``code`` is exactly a known upper-case ISO 4217 code (no normalisation)."""
    return isinstance(code, str) and code in _MINOR_UNITS


def known_currencies() -> frozenset[str]:
    """All currency codes :class:`Money` accepts."""
    return frozenset(_MINOR_UNITS)


def currency_code(text: str) -> str:
    """Normalise a currency code met at the edge (``" usd "`` → ``"USD"``) and validate it.

    :class:`Money` itself is strict (upper-case only) so that two spellings of one currency can
    never become two different keys in a dict or a database column.
    """
    if not isinstance(text, str):
        raise TypeError(f"currency code must be a string, not {type(text).__name__}")
    code = text.strip().upper()
    if code not in _MINOR_UNITS:
        raise UnknownCurrency(f"unknown ISO 4217 currency code: {text!r}")
    return code


def minor_units(currency: str) -> int:
    """Decimals of the currency's minor unit (JPY 0, USD 2, KWD 3, CLF 4)."""
    try:
        return _MINOR_UNITS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrency(f"unknown ISO 4217 currency code: {currency!r}") from None


# --- rounding and decimal contexts ----------------------------------------------------------


class Rounding(StrEnum):
    """Named rounding rules; the value is the :mod:`decimal` rounding constant.

    ``BANKERS`` and ``COMMERCIAL`` are aliases so call sites can say which convention they mean.
    """

    HALF_EVEN = ROUND_HALF_EVEN  # ties to even: "bankers'" rounding, no drift over many sums
    HALF_UP = ROUND_HALF_UP  # ties away from zero: "commercial" rounding, what invoices print
    HALF_DOWN = ROUND_HALF_DOWN  # ties toward zero
    UP = ROUND_UP  # away from zero
    DOWN = ROUND_DOWN  # toward zero (truncate)
    CEILING = ROUND_CEILING  # toward +infinity
    FLOOR = ROUND_FLOOR  # toward -infinity
    BANKERS = ROUND_HALF_EVEN
    COMMERCIAL = ROUND_HALF_UP


_PRECISION = 100
#: +, -, * and exact scaling: anything that would round raises instead.
_EXACT = Context(prec=_PRECISION, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
#: quantize and divide: rounding is the point; everything else still traps.
_ROUNDING = Context(prec=_PRECISION, traps=[InvalidOperation, DivisionByZero, Overflow])

_AMOUNT_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
#: Per currency: :meth:`Money.zero`.
_ZEROS: dict[str, Money] = {}
#: Per currency: the amounts :meth:`Money.parse_plain` reads.
_PLAIN_AMOUNTS: dict[str, re.Pattern[str]] = {}
_MAX_TEXT = 120
#: Bounds that no real amount reaches but that stop ``Decimal("1E+999999")`` (valid JSON!) from
#: turning formatting or allocation into a denial of service.
MAX_INTEGER_DIGITS = 30
MAX_SCALE = 200


def _reject_float(value: object, what: str) -> None:
    if isinstance(value, float):
        raise TypeError(f"{what} must not be a float ({value!r}): floats cannot hold money exactly; "
                        "pass a Decimal, an int or a string")


def _as_factor(value: object, what: str) -> Decimal:
    """A multiplier/divisor/ratio/rate: Decimal or int only, finite."""
    _reject_float(value, what)
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{what} must be a Decimal or an int, not {type(value).__name__}")
    factor = Decimal(value)
    if not factor.is_finite():
        raise InvalidAmount(f"{what} must be finite, got {factor}")
    return factor


def _exact(op: str, fn: Any, *args: Any) -> Decimal:
    try:
        with localcontext(_EXACT):
            result: Decimal = fn(*args)
    except Inexact:
        raise InvalidAmount(f"{op} needs more than {_PRECISION} significant digits; quantize first") from None
    return result


def _exact_op(op: str, fn: Any, *args: Any) -> Decimal:
    """:func:`_exact` for one of ``_EXACT``'s own methods (``Context.add`` …): the same traps and the
    same error, without switching the thread's context (a hot path: every sum of money runs it).
    Only the context's sticky flags are shared, and nothing reads them."""
    try:
        result: Decimal = fn(*args)
    except Inexact:
        raise InvalidAmount(f"{op} needs more than {_PRECISION} significant digits; quantize first") from None
    return result


# --- Money ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency. Immutable and hashable; equal amounts compare equal
    whatever their scale (``1.5 USD == 1.50 USD``)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        amount = self.amount
        _reject_float(amount, "Money amount")
        if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
            raise TypeError(f"Money amount must be a Decimal or an int, not {type(amount).__name__}")
        amount = Decimal(amount)
        if not amount.is_finite():
            raise InvalidAmount(f"Money amount must be finite, got {amount}")
        exponent = amount.as_tuple().exponent
        assert isinstance(exponent, int)  # finite
        if (not amount.is_zero() and amount.adjusted() >= MAX_INTEGER_DIGITS) or exponent < -MAX_SCALE:
            raise InvalidAmount(f"Money amount out of range (at most {MAX_INTEGER_DIGITS} integer digits "
                                f"and {MAX_SCALE} decimals): {amount:.6E}")
        if amount.is_zero() and amount.is_signed():
            amount = amount.copy_abs()  # -0.00 is a formatting accident, not a different amount
        if not is_known_currency(self.currency):
            raise UnknownCurrency(
                f"unknown ISO 4217 currency code {self.currency!r} (expected e.g. 'USD'; "
                "use currency_code() to normalise text from outside)"
            )
        object.__setattr__(self, "amount", amount)

    @classmethod
    def _of(cls, amount: Decimal, currency: str) -> Money:
        """The result of exact arithmetic on valid amounts of ``currency`` (a finite Decimal whose
        exponent is no finer than its operands'): only the checks such a result can still fail —
        its integer digits, and -0 — the rest of :meth:`__post_init__` holds by construction."""
        if amount.is_zero():
            if amount.is_signed():
                amount = amount.copy_abs()
        elif amount.adjusted() >= MAX_INTEGER_DIGITS:
            return cls(amount, currency)  # raises, with the constructor's message
        money = object.__new__(cls)
        object.__setattr__(money, "amount", amount)
        object.__setattr__(money, "currency", currency)
        return money

    # construction ---------------------------------------------------------------------------

    @classmethod
    def parse(cls, value: str | int | Decimal, currency: str) -> Money:
        """Read an amount exactly from text, an int or a Decimal.

        Text is a plain decimal number (``"-1234.50"``), optionally with the currency code
        before or after it (``"1234.50 USD"``, as ``str(Money)`` writes); it must then match
        ``currency``. Thousands separators, exponents and locale formats are refused: they are
        ambiguous, and an amount read wrongly is worse than one refused.
        """
        _reject_float(value, "amount")
        if isinstance(value, bool):
            raise TypeError("amount must not be a bool")
        if isinstance(value, Decimal | int):
            return cls(Decimal(value), currency)
        if not isinstance(value, str):
            raise TypeError(f"amount must be a str, int or Decimal, not {type(value).__name__}")
        text = value.strip()
        if len(text) > _MAX_TEXT:
            raise InvalidAmount(f"amount text is too long ({len(value)} characters)")
        parts = text.split()
        if len(parts) == 2:
            code, number = (parts[0], parts[1]) if parts[0].isalpha() else (parts[1], parts[0])
            if code != currency:
                raise InvalidAmount(f"amount {value!r} is in {code!r}, expected {currency!r}")
            text = number
        if not _AMOUNT_RE.fullmatch(text):
            raise InvalidAmount(f"not a plain decimal amount: {value!r} (expected e.g. '-1234.50')")
        return cls(Decimal(text), currency)

    @classmethod
    def parse_plain(cls, text: str, currency: str) -> Money | None:
        """The common well-formed amount, read fast: ``text`` exactly a non-negative plain decimal
        with at most 14 integer digits and at most ``currency``'s decimals (``"12.50"``), as
        :meth:`parse` reads it; ``None`` for anything else, which then goes through :meth:`parse`
        and its checks. Such an amount passes every check of the constructor and is quantized."""
        pattern = _PLAIN_AMOUNTS.get(currency)
        if pattern is None:
            if not is_known_currency(currency):
                return None
            places = minor_units(currency)
            pattern = _PLAIN_AMOUNTS[currency] = re.compile(
                r"[0-9]{1,14}" + (rf"(?:\.[0-9]{{1,{places}}})?" if places else ""))
        if type(text) is not str or pattern.fullmatch(text) is None:
            return None
        return cls._of(Decimal(text), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero at the currency's minor-unit scale (``0.00 USD``, ``0 JPY``)."""
        zero = _ZEROS.get(currency) if cls is Money else None
        if zero is None:
            zero = cls(Decimal(0).scaleb(-minor_units(currency)), currency)
            if cls is Money:
                _ZEROS[currency] = zero  # immutable: one per currency will do
        return zero

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        """``from_minor_units(12345, "USD")`` is ``123.45 USD``; exact for any int."""
        _reject_float(units, "minor units")
        if isinstance(units, bool) or not isinstance(units, int):
            raise TypeError(f"minor units must be an int, not {type(units).__name__}")
        return cls(_exact("from_minor_units", Decimal(units).scaleb, -minor_units(currency)), currency)

    # conversion -----------------------------------------------------------------------------

    def to_minor_units(self) -> int:
        """The amount in minor units (cents, fils…); raises if that would drop digits."""
        scaled = _exact_op("to_minor_units", _EXACT.scaleb, self.amount, minor_units(self.currency))
        if scaled != scaled.to_integral_value():
            raise InexactMinorUnits(
                f"{self} has more than {minor_units(self.currency)} decimals; quantize it first"
            )
        return int(scaled)

    def quantize(self, rule: Rounding = Rounding.HALF_EVEN) -> Money:
        """Round to the currency's minor unit with a named rule (idempotent)."""
        return Money._of(_quantize(self.amount, minor_units(self.currency), rule), self.currency)

    def is_quantized(self) -> bool:
        """True if the amount has no digits below the currency's minor unit."""
        return self.amount == _quantize(self.amount, minor_units(self.currency), Rounding.HALF_EVEN)

    def is_zero(self) -> bool:
        return self.amount.is_zero()

    # arithmetic -----------------------------------------------------------------------------

    def _same(self, other: object, operation: str) -> Money:
        if not isinstance(other, Money):
            _reject_float(other, "operand")
            raise TypeError(f"cannot {operation} Money and {type(other).__name__}; "
                            "use Money on both sides (sum_money() for totals)")
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency, operation)
        return other

    def __add__(self, other: object) -> Money:
        o = self._same(other, "add")
        return Money._of(_exact_op("addition", _EXACT.add, self.amount, o.amount), self.currency)

    def __radd__(self, other: object) -> Money:
        return self.__add__(other)

    def __sub__(self, other: object) -> Money:
        o = self._same(other, "subtract")
        return Money._of(_exact_op("subtraction", _EXACT.subtract, self.amount, o.amount), self.currency)

    def __rsub__(self, other: object) -> Money:
        return self._same(other, "subtract").__sub__(self)

    def __neg__(self) -> Money:
        return Money(self.amount.copy_negate(), self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(self.amount.copy_abs(), self.currency)

    def __mul__(self, factor: object) -> Money:
        f = _as_factor(factor, "multiplier")
        return Money(_exact_op("multiplication", _EXACT.multiply, self.amount, f), self.currency)

    def __rmul__(self, factor: object) -> Money:
        return self.__mul__(factor)

    def __truediv__(self, divisor: object) -> Any:
        """``Money / Decimal|int`` → Money (rounded at 100 digits); ``Money / Money`` → ratio.

        Division is inexact by nature; to split an amount into parts use :meth:`allocate`.
        """
        if isinstance(divisor, Money):
            o = self._same(divisor, "divide")
            with localcontext(_ROUNDING):
                return self.amount / o.amount
        d = _as_factor(divisor, "divisor")
        with localcontext(_ROUNDING):
            return Money(self.amount / d, self.currency)

    def _cmp(self, other: object) -> tuple[Decimal, Decimal]:
        o = self._same(other, "compare")
        return self.amount, o.amount

    def __lt__(self, other: object) -> bool:
        a, b = self._cmp(other)
        return a < b

    def __le__(self, other: object) -> bool:
        a, b = self._cmp(other)
        return a <= b

    def __gt__(self, other: object) -> bool:
        a, b = self._cmp(other)
        return a > b

    def __ge__(self, other: object) -> bool:
        a, b = self._cmp(other)
        return a >= b

    # splitting ------------------------------------------------------------------------------

    def allocate(self, ratios: Sequence[Decimal | int]) -> list[Money]:
        """Split into parts proportional to ``ratios`` that sum *exactly* to this amount.

        Largest-remainder method on integer units (the finer of the currency's minor unit and
        this amount's own scale): every part gets the floor of its exact share, and the units
        left over go one each to the parts with the largest remainders, earlier parts first on
        ties. Negative totals are split by magnitude and negated, so parts keep the total's sign.
        """
        if isinstance(ratios, str | bytes) or not isinstance(ratios, Sequence):
            raise TypeError("ratios must be a sequence of Decimal or int")
        if not ratios:
            raise ValueError("allocate needs at least one ratio")
        weights = [Fraction(_as_factor(r, "ratio")) for r in ratios]
        if any(w < 0 for w in weights):
            raise ValueError("ratios must not be negative")
        total_weight = sum(weights, Fraction(0))
        if total_weight == 0:
            raise ValueError("ratios must not all be zero")
        exponent = self.amount.as_tuple().exponent
        assert isinstance(exponent, int)  # finite, checked in __post_init__
        scale = max(minor_units(self.currency), -exponent)
        units = int(_exact("allocation", self.amount.copy_abs().scaleb, scale))
        shares = [units * w / total_weight for w in weights]
        floors = [s.numerator // s.denominator for s in shares]
        leftover = units - sum(floors)
        by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
        for i in by_remainder[:leftover]:
            floors[i] += 1
        sign = -1 if self.amount < 0 else 1
        return [Money(Decimal(sign * n).scaleb(-scale), self.currency) for n in floors]

    def split_evenly(self, n: int) -> list[Money]:
        """``n`` parts as equal as the unit allows, summing exactly; larger parts come first."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"number of parts must be an int, not {type(n).__name__}")
        if n < 1:
            raise ValueError("number of parts must be at least 1")
        return self.allocate([1] * n)

    # text -----------------------------------------------------------------------------------

    def __str__(self) -> str:
        """``"1234.50 USD"``: exact, positional, no grouping — :meth:`parse` reads it back."""
        return f"{self.amount:f} {self.currency}"


#: ``Decimal(1).scaleb(-places)`` for the places currencies have (the quantize exponent).
_UNITS = {places: Decimal(1).scaleb(-places) for places in range(5)}


def _quantize(amount: Decimal, places: int, rule: Rounding) -> Decimal:
    unit = _UNITS.get(places) or Decimal(1).scaleb(-places)
    try:
        return amount.quantize(unit, rounding=str(rule), context=_ROUNDING)
    except InvalidOperation:
        raise InvalidAmount(f"{amount} has too many digits to quantize") from None


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """Total of ``items``, all in ``currency``; the empty total is ``Money.zero(currency)``."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total


def format_money(money: Money, *, grouping: bool = True) -> str:
    """Locale-free display text, e.g. ``"USD -1,234.50"`` — for the edge (GUI, exports) only.

    Shows at least the currency's decimals and never hides digits beyond them: display must not
    round an amount that has not been quantized, or two different amounts would look equal.
    """
    amount = money.amount
    places = minor_units(money.currency)
    if -int(amount.as_tuple().exponent) < places:
        amount = _quantize(amount, places, Rounding.HALF_EVEN)  # only adds zeros
    return f"{money.currency} {amount:{',' if grouping else ''}f}"


# --- exchange -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """``rate`` units of ``to_currency`` per 1 unit of ``from_currency``.

    That is QBO's convention (``ExchangeRate`` = home-currency units per foreign unit). Xero's
    ``CurrencyRate`` is foreign units per base unit: use :meth:`inverse` or build it reversed.
    """

    from_currency: str
    to_currency: str
    rate: Decimal

    def __post_init__(self) -> None:
        rate = _as_factor(self.rate, "exchange rate")
        if rate <= 0:
            raise InvalidAmount(f"exchange rate must be positive, got {rate}")
        for code in (self.from_currency, self.to_currency):
            minor_units(code)
        object.__setattr__(self, "rate", rate)

    def convert(self, money: Money, rule: Rounding = Rounding.HALF_EVEN) -> Money:
        if money.currency != self.from_currency:
            raise CurrencyMismatch(money.currency, self.from_currency, "convert")
        return convert(money, self.rate, self.to_currency, rule)

    def inverse(self) -> ExchangeRate:
        """The reverse rate (1 / rate, 100 significant digits)."""
        with localcontext(_ROUNDING):
            return ExchangeRate(self.to_currency, self.from_currency, Decimal(1) / self.rate)


def convert(money: Money, rate: Decimal | int, to_currency: str,
            rule: Rounding = Rounding.HALF_EVEN) -> Money:
    """``money × rate`` in ``to_currency``, quantized to its minor unit with ``rule``.

    ``rate`` is ``to_currency`` units per 1 unit of ``money.currency``. Converting to the same
    currency only quantizes, and refuses a rate other than 1 (that would be a silent mistake).
    """
    r = _as_factor(rate, "exchange rate")
    if r <= 0:
        raise InvalidAmount(f"exchange rate must be positive, got {r}")
    minor_units(to_currency)
    if to_currency == money.currency and r != 1:
        raise ValueError(f"rate {r} given to convert {money.currency} to itself")
    product = _exact("conversion", Decimal.__mul__, money.amount, r)
    return Money(_quantize(product, minor_units(to_currency), rule), to_currency)
