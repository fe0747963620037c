"""The one CSV writer: hostile cells are defused (OWASP CSV injection), values stay exact."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from desktop.services.csv_safe import safe_cell, to_text

HOSTILE = [
    '=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1",
    "  =1+1", "\u00a0=1+1", "\uff1dHYPERLINK(\"http://x\")", "\uff0b1", "\uff0d1", "\uff20SUM(1)",
]


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_formula_is_shown_as_text(cell: str) -> None:
    out = safe_cell(cell)
    assert out == "'" + cell


@pytest.mark.parametrize(("value", "text"), [
    ("Jane O'Neil", "Jane O'Neil"), ("-12.50", "-12.50"), ("+3", "+3"), (Decimal("-0.10"), "-0.10"),
    (None, ""), (7, "7"), ("a=b", "a=b"), ("", ""),
])
def test_ordinary_values_and_numbers_are_unchanged(value: object, text: str) -> None:
    assert safe_cell(value) == text


def test_a_document_round_trips_through_a_csv_reader() -> None:
    text = to_text(["Customer", "Refund"], [[HOSTILE[0], Decimal("12.50")], ["Ann", Decimal("-1.00")]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["Customer", "Refund"], ["'" + HOSTILE[0], "12.50"], ["Ann", "-1.00"]]
    assert text.endswith("\r\n")
