"""The parser's fast paths decide exactly as its full checks: same record, same problems.

A tax entry that is a plain ``dict`` may be taken at once by the fast path; the same entry behind a
read-only mapping (``MappingProxyType``) always goes through the full checks. Reading a damaged
record both ways must give the same record and the same codes, fields and messages.
"""

from __future__ import annotations

import random
from types import MappingProxyType
from typing import Any

from hypothesis import example, given

from desktop.services.rms.parse import FILE_FIX, parse_return
from tests.fuzz.budget import fuzz, record
from tests.fuzz.strategies import CTX, damaged_record, valid_record

CA = {"jurisdiction": "US-CA", "rate": "0.0725", "amount": "1.00"}


def _taxed(*taxes: Any) -> dict[str, Any]:
    """A valid record whose first line carries ``taxes`` (its refund total then rarely adds up)."""
    raw = valid_record(0, random.Random(1))
    raw["lines"][0]["tax"] = list(taxes)
    return raw


def _slow(value: Any) -> Any:
    """``value`` with every tax entry behind a read-only mapping (the fast path does not take those)."""
    if isinstance(value, dict):
        return {k: ([MappingProxyType(_slow(t)) if isinstance(t, dict) else _slow(t) for t in v]
                    if k == "tax" and isinstance(v, list) else _slow(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_slow(v) for v in value]
    return value


@example(raw=_taxed(CA, CA))                                          # the same jurisdiction twice
@example(raw=_taxed({**CA, "rate": " 0.0725"}))                      # spaces around a rate
@example(raw=_taxed({**CA, "rate": "-0.01"}))                      # a negative rate
@example(raw=_taxed({**CA, "rate": "+0.07"}))
@example(raw=_taxed({**CA, "jurisdiction": "US-TX"}))                 # not the organization's
@example(raw=_taxed({**CA, "jurisdiction": ["US-CA"]}))               # not text (nor hashable)
@example(raw=_taxed({**CA, "jurisdiction": " US-CA"}))
@example(raw=_taxed({**CA, "currency": "CAD"}, {**CA, "jurisdiction": "US-NY", "currency": "USD"}))
@example(raw=_taxed({**CA, "amount": "1.001"}, {**CA, "jurisdiction": "US-NY", "amount": 1}))
@example(raw=_taxed({**CA, "amount": "-1.00"}, {"jurisdiction": "US-NY", "rate": "0.04"}))
@given(raw=damaged_record(0))
@fuzz(400)
def test_the_fast_paths_read_a_record_as_the_full_checks_do(raw: Any) -> None:
    fast = parse_return(raw, CTX, fix=FILE_FIX)
    full = parse_return(_slow(raw), CTX, fix=FILE_FIX)
    assert fast == full
    record("rms parser fast paths", examples=1, quarantined=int(fast[0] is None))
