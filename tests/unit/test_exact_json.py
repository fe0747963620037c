"""The app's one exact-decimal encoder and parser (wire, database, files and tests all use it)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.services.core import exact_json
from desktop.services.core.exact_json import decimal_text, dumps, loads, to_decimal, to_decimal_or_none
from desktop.services.pipeline import documents
from desktop.services.store import coltypes


def test_there_is_one_encoder_and_one_parser() -> None:
    assert coltypes.json_dumps_exact is dumps and documents.dumps_exact is dumps
    assert coltypes.json_loads_exact is loads


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("50.00"), "50.00"), (Decimal("1E-7"), "0.0000001"), (Decimal("1E+2"), "100"),
    (Decimal("-0.00"), "0.00"), (Decimal("-12.345"), "-12.345"),
])
def test_decimals_are_written_positionally_with_their_scale(value: Decimal, text: str) -> None:
    assert decimal_text(value) == text
    assert dumps({"a": [value]}) == f'{{"a":[{text}]}}'


def test_floats_and_non_finite_values_are_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        dumps({"amount": 1.1})
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))
    with pytest.raises(ValueError, match="not a number JSON allows"):
        loads('{"x": Infinity}')


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**12, max_value=10**12))
def test_round_trip_is_exact(value: Decimal) -> None:
    back = loads(dumps({"v": value}))["v"]
    assert Decimal(back) == value
    if value == value.to_integral_value() and value.as_tuple().exponent == 0:
        return
    assert str(back) == decimal_text(value)


def test_loads_refuses_deep_nesting_before_parsing() -> None:
    with pytest.raises(ValueError, match="deeper than 64"):
        loads("[" * 100_000 + "]" * 100_000, max_depth=exact_json.MAX_DEPTH)
    with pytest.raises(ValueError, match="too deeply"):  # the hot path: the parser's own limit, as ValueError
        loads("[" * 200_000 + "]" * 200_000)
    assert exact_json.depth_ok('["[[[[", {"a": "}}}"}]', 2)


@pytest.mark.parametrize(("value", "expected"), [
    ("12.50", Decimal("12.50")), (" -3 ", Decimal("-3")), (7, Decimal(7)), (Decimal("0.1"), Decimal("0.1")),
    ("1e3", Decimal("1E+3")), (".5", Decimal("0.5")),
])
def test_to_decimal_reads_numbers(value: object, expected: Decimal) -> None:
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", [1.5, True, "NaN", "inf", "-Infinity", "1,5", "", "abc", None, [1]])
def test_to_decimal_refuses_everything_else(value: object) -> None:
    with pytest.raises(ValueError):
        to_decimal(value, "a rate")
    assert to_decimal_or_none(value) is None
