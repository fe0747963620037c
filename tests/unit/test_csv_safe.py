"""The one CSV writer: hostile cells are defused (OWASP CSV injection), values stay exact."""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from desktop.services.core.csv_safe import safe_cell, to_text

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


# --- every CSV the app writes goes through this writer ------------------------------------------

_DESKTOP = Path(__file__).resolve().parents[2] / "desktop"
_THE_WRITER = "desktop/services/core/csv_safe.py"
_RAW_WRITERS = frozenset({"writer", "DictWriter"})


def _builds_raw_writer(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):   # csv.writer(...), csv.DictWriter(...)
        return node.attr in _RAW_WRITERS and isinstance(node.value, ast.Name) and node.value.id == "csv"
    if isinstance(node, ast.ImportFrom):  # from csv import writer
        return node.module == "csv" and any(alias.name in _RAW_WRITERS for alias in node.names)
    return False


def raw_csv_writers(source: str) -> list[int]:
    """Lines that build a CSV writer of the ``csv`` module itself (``csv.writer``, ``csv.DictWriter``,
    or either imported by name), bypassing :class:`~desktop.services.core.csv_safe.SafeWriter`."""
    return sorted(node.lineno for node in ast.walk(ast.parse(source)) if _builds_raw_writer(node))


def test_every_module_writes_csv_through_the_safe_writer() -> None:
    """Only ``csv_safe`` may build a raw writer: a new export cannot forget to defuse its cells."""
    root = _DESKTOP.parent
    offences = [f"{rel}:{line}" for path in sorted(_DESKTOP.rglob("*.py"))
                if (rel := path.relative_to(root).as_posix()) != _THE_WRITER
                for line in raw_csv_writers(path.read_text(encoding="utf-8"))]
    assert not offences, ("write CSV with desktop.services.core.csv_safe.SafeWriter / to_text instead:\n"
                          + "\n".join(offences))
    assert raw_csv_writers((root / _THE_WRITER).read_text(encoding="utf-8")), \
        "the safe writer itself no longer wraps csv.writer: is the check still looking at the right thing?"


@pytest.mark.parametrize(("snippet", "hits"), [
    ("import csv\nw = csv.writer(buf)", [2]),
    ("import csv\nw = csv.DictWriter(buf, fieldnames=['a'])", [2]),
    ("from csv import writer\nw = writer(buf)", [1]),
    ("from csv import DictWriter as W", [1]),
    ("import csv\nrows = list(csv.reader(buf))", []),             # reading is not writing
    ("from desktop.services.core.csv_safe import SafeWriter\nw = SafeWriter(buf)", []),
])
def test_the_check_finds_a_raw_writer(snippet: str, hits: list[int]) -> None:
    assert raw_csv_writers(snippet) == hits
