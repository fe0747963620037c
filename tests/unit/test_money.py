"""Money: exact amounts, named rounding, exact allocation, and refusal of floats and mixing."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.services.core.errors import AppError, FatalError
from desktop.services.core.money import (
    CurrencyMismatch,
    ExchangeRate,
    InexactMinorUnits,
    InvalidAmount,
    Money,
    Rounding,
    UnknownCurrency,
    convert,
    currency_code,
    format_money,
    is_known_currency,
    known_currencies,
    minor_units,
    sum_money,
)

D = Decimal
CURRENCIES = sorted(known_currencies())

currencies = st.sampled_from(CURRENCIES)
scales = st.integers(min_value=0, max_value=6)
coefficients = st.integers(min_value=-(10**15), max_value=10**15)


@st.composite
def monies(draw: st.DrawFn, currency: str | None = None) -> Money:
    code = currency or draw(currencies)
    return Money(D(draw(coefficients)).scaleb(-draw(scales)), code)


@st.composite
def quantized_monies(draw: st.DrawFn) -> Money:
    code = draw(currencies)
    return Money.from_minor_units(draw(coefficients), code)


ratio_lists = st.lists(
    st.one_of(st.integers(min_value=0, max_value=10**6),
              st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)),
    min_size=1, max_size=25,
).filter(lambda rs: any(r != 0 for r in rs))


# --- currencies -------------------------------------------------------------------------------


def test_minor_units_of_currencies_that_are_not_two_decimals() -> None:
    for code in ("JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "XPF", "PYG", "BIF", "RWF"):
        assert minor_units(code) == 0, code
    for code in ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"):
        assert minor_units(code) == 3, code
    assert minor_units("CLF") == 4
    for code in ("USD", "EUR", "GBP", "NZD", "AUD", "CAD", "CHF", "INR", "ZAR"):
        assert minor_units(code) == 2, code


#: The ``CurrencyCode`` enum of Xero's official OpenAPI spec (xero_accounting.yaml), verbatim.
XERO_CURRENCY_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BYR BZD CAD CDF CHF CLF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EEK EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD
    JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD
    MMK MNT MOP MRO MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP
    PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SKK SLE SLL SOS SRD STD STN SVC
    SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VEF VES VND VUV WST XAF XCD
    XOF XPF YER ZAR ZMW ZMK ZWD
"""


def test_every_xero_currency_code_is_known() -> None:
    """A ledger may hand us any of these (old documents keep withdrawn codes such as EEK)."""
    missing = [c for c in XERO_CURRENCY_CODES.split() if not is_known_currency(c)]
    assert not missing
    assert len(XERO_CURRENCY_CODES.split()) > 150


def test_unknown_and_badly_spelled_currencies_are_refused() -> None:
    for bad in ("usd", "US", "USDX", "XAU", "XXX", "", " USD"):
        with pytest.raises(UnknownCurrency):
            Money(D("1"), bad)
        with pytest.raises(UnknownCurrency):
            minor_units(bad)
    assert currency_code(" usd ") == "USD"
    with pytest.raises(UnknownCurrency):
        currency_code("dollars")


# --- construction and parsing -----------------------------------------------------------------


def test_parse_reads_plain_amounts_exactly() -> None:
    assert Money.parse("1234.50", "USD").amount == D("1234.50")
    assert Money.parse(" -0.005 ", "KWD").amount == D("-0.005")
    assert Money.parse("+7", "JPY") == Money(D(7), "JPY")
    assert Money.parse("1234.50 USD", "USD") == Money(D("1234.50"), "USD")
    assert Money.parse("USD 1234.50", "USD") == Money(D("1234.50"), "USD")
    assert Money.parse(42, "EUR") == Money(D(42), "EUR")
    assert Money.parse(D("0.1"), "EUR").amount == D("0.1")


@pytest.mark.parametrize("text", ["", "abc", "1,234.50", "1.234,50", "1e3", "1E+3", "NaN", "nan",
                                  "Infinity", "-inf", "sNaN", "1.", ".5", "--1", "1 2", "$12",
                                  "١٢٣", "12 EUR", "0x10", "1_000"])
def test_parse_rejects_malformed_text_with_a_clear_message(text: str) -> None:
    with pytest.raises(InvalidAmount) as info:
        Money.parse(text, "USD")
    assert str(info.value)


def test_non_finite_and_absurd_decimals_are_refused() -> None:
    for bad in (D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity")):
        with pytest.raises(InvalidAmount):
            Money(bad, "USD")
        with pytest.raises(InvalidAmount):
            Money.parse(bad, "USD")
    with pytest.raises(InvalidAmount):
        Money(D("1E+999999"), "USD")  # valid JSON number; would print a million digits
    with pytest.raises(InvalidAmount):
        Money(D("1E-999"), "USD")


def test_negative_zero_is_zero() -> None:
    m = Money(D("-0.00"), "USD")
    assert str(m) == "0.00 USD"
    assert m == Money.zero("USD")


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_rejected_everywhere(x: float) -> None:
    m = Money(D("10.00"), "USD")
    attempts = [
        lambda: Money(x, "USD"),  # type: ignore[arg-type]
        lambda: Money.parse(x, "USD"),  # type: ignore[arg-type]
        lambda: Money.from_minor_units(x, "USD"),  # type: ignore[arg-type]
        lambda: m * x,
        lambda: x * m,
        lambda: m / x,
        lambda: m + x,
        lambda: x + m,
        lambda: m - x,
        lambda: m < x,
        lambda: m.allocate([D(1), x]),  # type: ignore[list-item]
        lambda: convert(m, x, "EUR"),  # type: ignore[arg-type]
        lambda: ExchangeRate("USD", "EUR", x),  # type: ignore[arg-type]
    ]
    for attempt in attempts:
        with pytest.raises(TypeError):
            attempt()


def test_float_error_message_says_why() -> None:
    with pytest.raises(TypeError, match="float"):
        Money(D(1), "USD") * 1.1


# --- arithmetic ---------------------------------------------------------------------------------


def test_arithmetic_within_one_currency() -> None:
    a, b = Money(D("10.25"), "USD"), Money(D("0.75"), "USD")
    assert a + b == Money(D("11.00"), "USD")
    assert a - b == Money(D("9.50"), "USD")
    assert -a == Money(D("-10.25"), "USD")
    assert abs(-a) == a
    assert a * 3 == Money(D("30.75"), "USD")
    assert 2 * a == Money(D("20.50"), "USD")
    assert a * D("0.5") == Money(D("5.125"), "USD")
    assert a / 5 == Money(D("2.05"), "USD")
    assert a / Money(D("5.125"), "USD") == D(2)
    assert b < a and a > b and a >= a and b <= a
    assert max(a, b) == a
    assert sorted([a, b, -a]) == [-a, b, a]
    assert hash(Money(D("1.5"), "USD")) == hash(Money(D("1.50"), "USD"))
    assert Money(D("1.5"), "USD") != Money(D("1.5"), "EUR")  # equality never raises


@given(monies(), currencies)
def test_mixing_currencies_raises(m: Money, other_code: str) -> None:
    if other_code == m.currency:
        return
    other = Money(D(1), other_code)
    for op in (lambda: m + other, lambda: m - other, lambda: m < other, lambda: m <= other,
               lambda: m > other, lambda: m >= other, lambda: m / other,
               lambda: sum_money([m, other], m.currency)):
        with pytest.raises(CurrencyMismatch):
            op()


def test_currency_mismatch_is_a_fatal_app_error_and_a_value_error() -> None:
    with pytest.raises(CurrencyMismatch) as info:
        Money(D(1), "USD") + Money(D(1), "NZD")
    err = info.value
    assert isinstance(err, FatalError) and isinstance(err, AppError) and isinstance(err, ValueError)
    assert "USD" in err.user_message() and "NZD" in err.user_message()


def test_money_does_not_mix_with_bare_numbers() -> None:
    m = Money(D(1), "USD")
    for op in (lambda: m + D(1), lambda: m + 1, lambda: sum([m, m]), lambda: m * m, lambda: m * True):
        with pytest.raises(TypeError):
            op()


def test_addition_that_would_lose_digits_raises_instead() -> None:
    big = Money(D("1" * 29), "USD")
    tiny = Money(D("1E-150"), "USD")
    with pytest.raises(InvalidAmount, match="significant digits"):
        big + tiny


@given(st.lists(monies("EUR"), max_size=30))
def test_sum_money_is_exact(items: list[Money]) -> None:
    total = sum_money(items, "EUR")
    assert total.amount == sum((m.amount for m in items), D(0))
    assert sum_money([], "JPY") == Money.zero("JPY")
    assert str(Money.zero("KWD")) == "0.000 KWD"


# --- quantize and minor units -------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "rule", "expected"), [
    ("2.345", Rounding.HALF_EVEN, "2.34"), ("2.355", Rounding.HALF_EVEN, "2.36"),
    ("2.345", Rounding.BANKERS, "2.34"), ("2.345", Rounding.HALF_UP, "2.35"),
    ("2.345", Rounding.COMMERCIAL, "2.35"), ("-2.345", Rounding.HALF_UP, "-2.35"),
    ("2.345", Rounding.HALF_DOWN, "2.34"), ("2.349", Rounding.DOWN, "2.34"),
    ("-2.349", Rounding.DOWN, "-2.34"), ("2.341", Rounding.UP, "2.35"), ("-2.341", Rounding.UP, "-2.35"),
    ("-2.341", Rounding.CEILING, "-2.34"), ("-2.341", Rounding.FLOOR, "-2.35"),
])
def test_named_rounding_rules(amount: str, rule: Rounding, expected: str) -> None:
    assert Money.parse(amount, "USD").quantize(rule).amount.as_tuple() == D(expected).as_tuple()


def test_quantize_uses_the_currency_precision() -> None:
    assert Money.parse("1234.5", "JPY").quantize().amount == D("1234")  # tie → even
    assert Money.parse("1235.5", "JPY").quantize().amount == D("1236")
    assert Money.parse("1.23456", "KWD").quantize().amount == D("1.235")
    assert str(Money.parse("7", "BHD").quantize()) == "7.000 BHD"


@given(monies(), st.sampled_from(list(Rounding)))
def test_quantize_is_idempotent_and_close(m: Money, rule: Rounding) -> None:
    q = m.quantize(rule)
    assert q.quantize(rule) == q
    assert q.is_quantized()
    unit = D(1).scaleb(-minor_units(m.currency))
    assert abs(q.amount - m.amount) < unit
    if rule is Rounding.HALF_EVEN:
        assert abs(q.amount - m.amount) <= unit / 2


@given(currencies, coefficients)
def test_minor_units_round_trip(code: str, units: int) -> None:
    m = Money.from_minor_units(units, code)
    assert m.to_minor_units() == units
    assert -int(m.amount.as_tuple().exponent) == minor_units(code)


@given(quantized_monies())
def test_quantized_money_round_trips_through_minor_units(m: Money) -> None:
    assert Money.from_minor_units(m.to_minor_units(), m.currency) == m


def test_to_minor_units_refuses_to_drop_digits() -> None:
    assert Money.parse("1.500", "USD").to_minor_units() == 150  # trailing zeros are exact
    assert Money.parse("-12", "JPY").to_minor_units() == -12
    with pytest.raises(InexactMinorUnits):
        Money.parse("1.505", "USD").to_minor_units()
    with pytest.raises(InexactMinorUnits):
        Money.parse("0.5", "JPY").to_minor_units()
    with pytest.raises(TypeError):
        Money.from_minor_units(D(5), "USD")  # type: ignore[arg-type]


@given(monies())
def test_str_then_parse_round_trips(m: Money) -> None:
    assert Money.parse(str(m), m.currency) == m
    assert Money.parse(str(m).split()[0], m.currency).amount.as_tuple() == m.amount.as_tuple()


# --- allocation ---------------------------------------------------------------------------------


def test_allocate_examples() -> None:
    assert [str(p) for p in Money.parse("100", "USD").split_evenly(3)] == \
        ["33.34 USD", "33.33 USD", "33.33 USD"]
    assert [p.amount for p in Money.parse("-100.00", "USD").split_evenly(3)] == \
        [D("-33.34"), D("-33.33"), D("-33.33")]
    assert [p.amount for p in Money.parse("10", "JPY").allocate([1, 1, 1])] == [D(4), D(3), D(3)]
    assert [p.amount for p in Money.parse("1.000", "KWD").split_evenly(3)] == \
        [D("0.334"), D("0.333"), D("0.333")]
    # 70/30 of 0.05: exact shares 0.035 and 0.015 tie on remainder → the earlier part wins
    assert [p.amount for p in Money.parse("0.05", "USD").allocate([7, 3])] == [D("0.04"), D("0.01")]
    # zero ratios get nothing; the finer scale of an unquantized total is kept
    assert [p.amount for p in Money.parse("1.001", "USD").allocate([0, 1, 1])] == \
        [D("0.000"), D("0.501"), D("0.500")]
    assert [p.amount for p in Money.parse("0.01", "USD").allocate([D("0.2"), D("0.8")])] == \
        [D("0.00"), D("0.01")]


def test_allocate_rejects_bad_ratios() -> None:
    m = Money.parse("10", "USD")
    for bad in ([], [0, 0], [1, -1]):
        with pytest.raises(ValueError):
            m.allocate(bad)
    for bad_n in (0, -2):
        with pytest.raises(ValueError):
            m.split_evenly(bad_n)
    with pytest.raises(TypeError):
        m.split_evenly(2.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        m.allocate([D("NaN")])


@given(monies(), ratio_lists)
def test_allocate_sums_exactly_and_is_fair(m: Money, ratios: list[Decimal | int]) -> None:
    parts = m.allocate(ratios)
    assert len(parts) == len(ratios)
    assert sum_money(parts, m.currency) == m
    assert all(p.currency == m.currency for p in parts)
    scale = max(minor_units(m.currency), -int(m.amount.as_tuple().exponent))
    unit = Fraction(1, 10**scale)
    total_ratio = sum(Fraction(r) for r in ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        assert -int(part.amount.as_tuple().exponent) == scale
        exact_share = Fraction(m.amount) * Fraction(ratio) / total_ratio
        assert abs(Fraction(part.amount) - exact_share) < unit  # never off by a whole unit
        if ratio == 0:
            assert part.is_zero()
        assert part.is_zero() or (part.amount < 0) == (m.amount < 0)
    assert m.allocate(ratios) == parts  # deterministic


@given(monies(), st.integers(min_value=1, max_value=50))
def test_split_evenly_parts_differ_by_at_most_one_unit(m: Money, n: int) -> None:
    parts = m.split_evenly(n)
    assert sum_money(parts, m.currency) == m
    scale = max(minor_units(m.currency), -int(m.amount.as_tuple().exponent))
    amounts = [abs(p.amount) for p in parts]
    assert max(amounts) - min(amounts) <= D(1).scaleb(-scale)
    assert amounts == sorted(amounts, reverse=True)


# --- conversion and formatting ------------------------------------------------------------------


def test_convert_quantizes_to_the_target_currency() -> None:
    usd = Money.parse("10.00", "USD")
    assert convert(usd, D("151.237"), "JPY") == Money(D(1512), "JPY")
    assert convert(usd, D("0.30765"), "KWD").amount == D("3.076")  # 3.0765: tie → even
    assert convert(usd, D("0.30765"), "KWD", Rounding.HALF_UP).amount == D("3.077")
    assert convert(Money.parse("0.125", "EUR"), D(1), "EUR", Rounding.HALF_UP).amount == D("0.13")
    assert convert(Money.parse("0.125", "EUR"), D(1), "EUR").amount == D("0.12")
    with pytest.raises(ValueError):
        convert(usd, D(2), "USD")
    for bad_rate in (D(0), D(-1), D("NaN")):
        with pytest.raises(InvalidAmount):
            convert(usd, bad_rate, "EUR")
    with pytest.raises(UnknownCurrency):
        convert(usd, D(1), "ABC")


def test_exchange_rate_converts_and_inverts() -> None:
    rate = ExchangeRate("EUR", "USD", D("1.25"))
    assert rate.convert(Money.parse("8.00", "EUR")) == Money.parse("10.00", "USD")
    back = rate.inverse()
    assert (back.from_currency, back.to_currency, back.rate) == ("USD", "EUR", D("0.8"))
    with pytest.raises(CurrencyMismatch):
        rate.convert(Money.parse("1", "GBP"))


def test_format_money_is_locale_free_and_hides_nothing() -> None:
    assert format_money(Money.parse("1234.5", "USD")) == "USD 1,234.50"
    assert format_money(Money.parse("-1234567", "JPY")) == "JPY -1,234,567"
    assert format_money(Money.parse("1234.5678", "USD")) == "USD 1,234.5678"
    assert format_money(Money.parse("1234.5", "KWD"), grouping=False) == "KWD 1234.500"
    assert str(Money.parse("1234.5", "USD")) == "1234.5 USD"
