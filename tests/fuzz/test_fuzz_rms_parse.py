"""Fuzzing the RMS record reader on its own (no database): the cheap place for many examples.

What ingest does with a record before any row is written — make it storable, parse it, build its
stand-in row — must never raise, whatever the record: a problem is a value with a code, and a
record that parses clean must survive the trip to rows and back unchanged.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import example, given

from desktop.services.core import exact_json
from desktop.services.rms.parse import RMS_FIX, parse_return
from desktop.services.rms.records import placeholder_row, to_rows
from desktop.services.rms.storable import DEEP_MARKER, storable, trim_depth
from tests.fuzz.budget import fuzz, record
from tests.fuzz.checks import CODE_RE
from tests.fuzz.strategies import CTX, damaged_record, json_text, nest, valid_record

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _wire(value: Any) -> Any:
    """``value`` as the RMS client reads it off the wire (a page too deep for the parser is trimmed)."""
    text = json_text(value)
    try:
        return exact_json.loads(text)
    except ValueError:
        trimmed = trim_depth(text)
        assert trimmed is not None
        return exact_json.loads(trimmed)


def _with(**fields: Any) -> dict[str, Any]:
    return {**valid_record(0, random.Random(1)), **fields}


@example(raw=_with(updated_at="9999-12-31T23:59:59-23:59"))          # OverflowError in parse_timestamp
@example(raw=_with(revision="9" * 5000))                               # int() past 4,300 digits
@example(raw=_with(lines=[{**valid_record(0, random.Random(1))["lines"][0], "quantity": "-" + "9" * 5000}]))
@example(raw=_with(customer={"id": "c", "name": "A\x00da", "email": "a@b.c"}))  # NUL: PostgreSQL refuses it
@example(raw=_with(refund_total=Decimal("1E+999999999")))              # a billion digits when written out
@given(raw=damaged_record(0))
@fuzz(800)
def test_reading_a_record_never_raises(raw: Any) -> None:
    raw = _wire(raw)
    safe, unstorable = storable(raw, fix=RMS_FIX)
    parsed, problems = parse_return(safe, CTX, fix=RMS_FIX)
    problems = [*unstorable, *problems]
    clean = parsed is not None and not problems  # what ingest stores as NEW; anything else is quarantined
    assert clean or problems
    assert all(CODE_RE.fullmatch(p.code) for p in problems), [p.code for p in problems]
    payload = dict(safe) if isinstance(safe, dict) else {"_unreadable": safe}
    if clean:
        assert parsed is not None
        row = to_rows(parsed, 1, payload, NOW)
        assert row.rms_id == parsed.rms_id and len(row.lines) == len(parsed.lines)
    else:
        row, _stand_ins = placeholder_row(payload, 1, NOW)
        assert len(row.rms_id) <= 64 and len(row.rma_number) <= 64 and -(2**31) <= row.revision <= 2**31 - 1
    record("rms record reader", examples=1, quarantined=int(not clean))


@given(raw=damaged_record(0))
@fuzz(200)
def test_a_deep_page_is_trimmed_not_refused(raw: Any) -> None:
    """The RMS client's fallback for a page the parser finds too deep: the text is trimmed to the cap,
    and the trimmed part is marked so ingest quarantines the record (`nested_too_deeply`)."""
    text = json_text({"returns": [raw, {"junk": nest(5_000)}], "next_cursor": "2", "has_more": False})
    trimmed = trim_depth(text)
    assert trimmed is not None
    page = exact_json.loads(trimmed)
    assert page["next_cursor"] == "2" and len(page["returns"]) == 2
    _safe, problems = storable(page["returns"][1], fix=RMS_FIX)
    assert [p.code for p in problems] == ["nested_too_deeply"] and DEEP_MARKER in trimmed
