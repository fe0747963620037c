"""exact_json.dumps writes plain values (no number but int) with the C encoder: the very same text as the
exact encoder, and a float or a Decimal anywhere still takes the exact path (refused / written exactly)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.services.core import exact_json

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text())
_plain = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=30)


def _exact(value: Any) -> str:
    out: list[str] = []
    exact_json._encode(value, out)
    return "".join(out)


@given(_plain)
def test_plain_values_are_written_exactly_as_the_exact_encoder_writes_them(value: Any) -> None:
    assert exact_json.dumps(value) == _exact(value)


@pytest.mark.parametrize("value", [
    {"a": [1, {"b": 1.5}]}, [0.1], {"x": (1, 2.0)},
])
def test_a_float_anywhere_is_still_refused(value: Any) -> None:
    with pytest.raises(TypeError, match="float"):
        exact_json.dumps(value)


def test_decimals_and_odd_keys_take_the_exact_path() -> None:
    assert exact_json.dumps({"a": [Decimal("50.00"), "x\u00e9\ud800", None]}) == '{"a":[50.00,"x\u00e9\ud800",null]}'
    with pytest.raises(TypeError, match="keys must be str"):
        exact_json.dumps({1: "x"})
    assert exact_json.dumps({"n": True, "s": "a\x00b"}) == _exact({"n": True, "s": "a\x00b"})
