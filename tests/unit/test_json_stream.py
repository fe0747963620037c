"""The streaming JSON list reader: the same values as the exact parser at any chunk size, and refusals."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from desktop.services.core import exact_json
from desktop.services.core.json_stream import JsonListStream, JsonStreamError, NotAList

DOCS = [
    '[1.5, 2, {"a": [1, 2.250]}, "x\\u00e9\\"y", null, true, false, -0.0, 1e3, []]',
    '{"meta": {"x": [1, {"returns": [9]}]}, "returns": [ {"a": 1.25}, 12345678 ], "z": "}"}',
    '\ufeff  [ {"amount": "12.50", "nested": {"k": [[[]]]}} ]  ',
    '{"returns": []}',
    '[]',
]


def _read(text: str, chunk: int, **kw: Any) -> list[Any]:
    return list(JsonListStream(io.BytesIO(text.encode()), chunk=chunk, **kw))


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_every_chunk_size_reads_what_the_exact_parser_reads(doc: str, chunk: int) -> None:
    whole = exact_json.loads(doc.lstrip("\ufeff"))
    expected = whole["returns"] if isinstance(whole, dict) else whole
    got = _read(doc, chunk)
    assert got == expected
    assert [type(v) for v in got] == [type(v) for v in expected]  # Decimal stays Decimal, int stays int
    assert all(not isinstance(v, float) for v in got)


@pytest.mark.parametrize(("doc", "error", "says"), [
    ('{"returns": [1.5,', JsonStreamError, "not valid JSON after element 1"),
    ("[1 2]", JsonStreamError, "expected ',' or ']' but found '2' after element 1"),
    ("[1, 2] x", JsonStreamError, "unexpected text after the end"),
    ("[NaN]", JsonStreamError, "NaN is not a number JSON allows"),
    ("", JsonStreamError, "the file is empty"),
    ("nope", JsonStreamError, "not valid JSON"),
    ("5", NotAList, "not a list"),
    ('{"returns": 5}', NotAList, "no 'returns' list"),
    ("{}", NotAList, "no 'returns' list"),
    ('{"returns": [1], "returns": [2]}', JsonStreamError, "two 'returns' lists"),
])
@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_what_is_not_a_list_of_json_values_is_refused_with_where(doc: str, error: type[Exception], says: str,
                                                                chunk: int) -> None:
    with pytest.raises(error, match=says.replace("(", r"\(").replace("[", r"\[")):
        _read(doc, chunk)


def test_an_element_larger_than_the_cap_is_refused() -> None:
    doc = json.dumps([{"d": "x" * 5000}, 1])
    with pytest.raises(JsonStreamError, match="element 1 is larger than"):
        _read(doc, 512, max_element=1024)
    assert _read(doc, 512, max_element=8192)[1] == 1


def test_an_element_too_deep_for_the_parser_is_handed_to_too_deep() -> None:
    deep = "[" * 3000 + "]" * 3000
    seen: list[int] = []

    def trim(text: str) -> str:
        seen.append(len(text))
        return '"(nested too deeply: left out)"'

    assert _read(f"[1, {deep}, 2]", 97, too_deep=trim) == [1, "(nested too deeply: left out)", 2]
    assert seen == [6000]
    with pytest.raises(JsonStreamError, match="element 2 nests too deeply"):
        _read(f"[1, {deep}]", 97)
