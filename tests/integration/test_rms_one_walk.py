"""One walk per payload (issue 14): storable's walk also proves a payload plain, and its JSON is written once.

Ingest used to walk each payload four times (storability, the digest's plainness check, the JSON
column's check, the encoder's own check). Now ``storable_plain``'s walk says whether the payload is
plain; a plain payload's digest skips the plainness check and its column text is encoded once
(``exact_json.EncodedJSON``). Nothing stored may change: this compares, on varied payloads (Decimals,
unicode, surrogates, NUL, huge numbers, tuples, subclasses, deep nesting), the new walk with the
old checks it stands in for, the once-encoded texts and digests with the general encoders' — and,
on both databases, the column text written from the encoded text with the text written from the dict.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.services.core import exact_json
from desktop.services.core.exact_json import EncodedJSON
from desktop.services.rms import storable as storable_module
from desktop.services.rms.bulk import insert_new
from desktop.services.rms.records import RowValues, _canonical, content_digest, placeholder_values
from desktop.services.rms.storable import DEEP_MARKER, storable, storable_plain
from desktop.services.store.coltypes import json_dumps_exact
from desktop.services.store.models import Organization, Platform
from tests.helpers.db import migrated

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIX = "fix it in the RMS"


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


TEXTS = st.one_of(st.text(max_size=8), st.sampled_from(
    ["", "é", "日本語", "emoji \U0001f600", "tab\t\"quote\"\\", "nul\x00", "\ud800", "\udfff", "\u2028", DEEP_MARKER]))
SCALARS = st.one_of(
    TEXTS, st.integers(-(10**30), 10**30), st.sampled_from([10**400, -(10**400), True, False, None]),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.sampled_from([Decimal("1E+999"), Decimal("-0.00"), Decimal("12.50"), 1.5]))


class _Dict(dict[str, Any]):
    pass


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXTS, children, max_size=4),
        st.lists(children, max_size=3).map(tuple), st.dictionaries(TEXTS, children, max_size=3).map(_Dict),
        st.dictionaries(TEXTS, children, max_size=3).map(OrderedDict),
        st.dictionaries(st.integers(0, 9), children, min_size=1, max_size=2))


VALUES = st.recursive(SCALARS, _containers, max_leaves=25)
PLAINISH = st.recursive(
    st.one_of(st.text(max_size=6), st.integers(-(10**20), 10**20), st.booleans(), st.none()),
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=6), c, max_size=4)), max_leaves=30)


def _check(value: Any) -> None:
    _copy, problems, plain = storable_plain(value, fix=FIX)
    clean, surveyed = storable_module._survey(value)
    # The walk that answers "clean" says what the copying walk finds.
    with pytest.MonkeyPatch.context() as m:
        m.setattr(storable_module, "_survey", lambda raw: (False, False))
        _full, full_problems = storable(value, fix=FIX)
    assert clean == (not full_problems)
    assert [p.code for p in problems] == [p.code for p in full_problems]
    assert plain == (clean and surveyed)
    if plain:  # proved plain ⇒ plain by the general check, and the texts written once equal the general ones
        assert exact_json.is_plain(value, tuples=False)
        assert exact_json.dumps_plain(value) == exact_json.dumps(value) == json_dumps_exact(value)
        out: list[str] = []
        exact_json._encode(value, out)  # the digit-by-digit encoder, the one every other value takes
        assert exact_json.dumps_plain(value) == "".join(out)
        assert exact_json.dumps_plain_sorted(value) == _canonical(value)
        assert content_digest(value, plain=True) == content_digest(value)
        assert json_dumps_exact(EncodedJSON(exact_json.dumps_plain(value))) == exact_json.dumps(value)
    elif clean and isinstance(value, dict | list):
        assert not exact_json.is_plain(value, tuples=False)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_the_walk_decides_as_the_checks_it_replaces_on_any_value(value: Any) -> None:
    _check(value)


@settings(max_examples=200, deadline=None)
@given(PLAINISH)
def test_plain_payloads_are_written_once_exactly_as_before(value: Any) -> None:
    _check({"payload": value})


@pytest.mark.parametrize("value", [
    {"amount": Decimal("10.00")}, {"rate": 0.5}, {"t": (1, 2)}, _Dict(a=1), {1: "x"}, {"big": 10**400},
    {"deep": _deep(70)}, {"deep": _deep(60)}, {"nul": "a\x00"}, {"k\ud800": 1}, {"m": DEEP_MARKER},
    {"u": "日本語 \u2028 \U0001f600", "nested": [{"a": [1, True, None, {"b": []}]}], "e": {}}, {}, [], None,
])
def test_chosen_payloads(value: Any) -> None:
    _check(value)


@pytest.mark.db
def test_column_text_from_the_encoded_text_is_the_text_from_the_dict(db_url: str) -> None:
    payloads: list[dict[str, Any]] = [
        {"id": "r", "u": "Crème brûlée — 日本語 \U0001f600 \u2028", "q": 'quote " backslash \\ tab \t',
         "nested": [{"a": [1, -2, True, False, None, {"b": [], "c": {}}]}], "big": 10**30, "z": 0, "a": "first?"},
        {"lines": [{"tax": [{"amount": "1.45", "rate": "0.0725"}]}], "ctrl": "\x01\x1f\x7f"},
    ]
    with migrated(db_url) as db:
        with db.write_session() as s:
            org = Organization(code="ONE-US", name="One", platform=Platform.QBO, timezone="UTC",
                               home_currency="USD", settings={}, created_at=T0, updated_at=T0)
            s.add(org)
            s.flush()
            rows = []
            for n, payload in enumerate(payloads):
                for encoded in (False, True):
                    values, _stand_ins = placeholder_values({**payload, "id": f"r{n}-{encoded}", "revision": 1},
                                                            org.id, T0)
                    raw = values["raw_payload"]
                    assert storable_plain(raw, fix=FIX)[2]
                    rows.append(RowValues(values, raw_json=exact_json.dumps_plain(raw) if encoded else None))
            insert_new(s, rows)
        with db.session() as s:
            texts = dict(s.execute(sa.text("SELECT rms_id, CAST(raw_payload AS TEXT) FROM returns")).all())
            read = dict(s.execute(sa.text("SELECT rms_id, raw_payload FROM returns")).all())
    for n in range(len(payloads)):
        assert texts[f"r{n}-True"].replace("-True", "-X") == texts[f"r{n}-False"].replace("-False", "-X")
        if db_url.startswith("sqlite"):  # SQLite keeps the text as written: byte for byte what dumps writes
            assert texts[f"r{n}-False"] == exact_json.dumps({**payloads[n], "id": f"r{n}-False", "revision": 1})
    assert len(read) == 2 * len(payloads)
