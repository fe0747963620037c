"""The wire form of ledger payloads: Decimals as exact JSON numbers, never via float."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.services.core.exact_json import decimal_text, dumps


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_every_decimal_round_trips_digit_for_digit(value: Decimal) -> None:
    text = dumps({"Amount": value})
    assert "e" not in text.lower(), "positional digits, no exponent"
    back = json.loads(text, parse_float=Decimal, parse_int=Decimal)["Amount"]
    assert back == value
    if not value.is_zero():
        assert back.as_tuple().exponent == min(0, value.as_tuple().exponent)  # type: ignore[operator]


def test_scale_is_kept_and_negative_zero_is_zero() -> None:
    assert dumps([Decimal("50.00"), Decimal("-0.00"), Decimal("1E+2"), 3, None, True, "é"]) == \
        '[50.00,0.00,100,3,null,true,"é"]'
    assert decimal_text(Decimal("0.0000001")) == "0.0000001"


@pytest.mark.parametrize("bad", [1.5, float("nan"), Decimal("NaN"), {1: "x"}, object()])
def test_floats_and_strangers_are_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        dumps({"Amount": bad} if not isinstance(bad, dict) else bad)
