"""The parser's fast paths decide exactly as its full checks: same record, same problems.

A tax entry, a line or a fee that is a plain ``dict`` may be taken at once by the fast paths
(``rms/parse_fast.py``); the same entry behind a read-only mapping (``MappingProxyType``) always goes
through the full checks. Reading a damaged record both ways must give the same record and the same
codes, fields and messages.
"""

from __future__ import annotations

import random
from types import MappingProxyType
from typing import Any

from hypothesis import example, given

from desktop.services.rms.parse import FILE_FIX, parse_return
from desktop.services.rms.parse_fast import plain_fee, plain_line, plain_tax
from tests.fuzz.budget import fuzz, record
from tests.fuzz.strategies import CTX, damaged_record, refund_total, valid_record

CA = {"jurisdiction": "US-CA", "rate": "0.0725", "amount": "1.00"}


def _taxed(*taxes: Any) -> dict[str, Any]:
    """A valid record whose first line carries ``taxes`` (its refund total then rarely adds up)."""
    raw = valid_record(0, random.Random(1))
    raw["lines"][0]["tax"] = list(taxes)
    return raw


def _line(fees: list[Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A valid record (USD) whose first line has ``changes`` (and whose fees are ``fees``)."""
    raw = valid_record(0, random.Random(1))
    raw["currency"] = "USD"
    raw["lines"][0].update(changes)
    if fees is not None:
        raw["fees"] = fees
    return raw


_ENTRIES = ("tax", "lines", "fees")


def _slow(value: Any) -> Any:
    """``value`` with every tax entry, line and fee behind a read-only mapping (the fast paths do not
    take those)."""
    if isinstance(value, dict):
        return {k: ([MappingProxyType(_slow(t)) if isinstance(t, dict) else _slow(t) for t in v]
                    if k in _ENTRIES and isinstance(v, list) else _slow(v)) for k, v in value.items()}
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
@example(raw=_line(quantity="2"))                                     # quantities as text
@example(raw=_line(quantity="0002"))
@example(raw=_line(quantity="+2"))
@example(raw=_line(quantity=" 2"))
@example(raw=_line(quantity="0"))
@example(raw=_line(quantity=0))
@example(raw=_line(quantity=True))
@example(raw=_line(quantity=2.0))
@example(raw=_line(quantity="999999999"))
@example(raw=_line(quantity="2147483648"))
@example(raw=_line(quantity=2**31))
@example(raw=_line(quantity="٣"))
@example(raw=_line(line_id="ln_2"))                                   # the next line's id again
@example(raw=_line(line_id="   "))
@example(raw=_line(line_id="L" * 65))
@example(raw=_line(sku="S" * 101))
@example(raw=_line(sku="S" * 100))
@example(raw=_line(description=None))
@example(raw=_line(description=" "))
@example(raw=_line(reason_code="NOPE"))
@example(raw=_line(disposition=" RESTOCK"))
@example(raw=_line(currency="USD"))
@example(raw=_line(currency="CAD"))
@example(raw=_line(unit_price="10"))
@example(raw=_line(unit_price="10.001"))
@example(raw=_line(unit_cost="1.00"))
@example(raw=_line(unit_cost="1.001"))
@example(raw=_line(unit_cost=1))
@example(raw=_line(unit_cost=None))
@example(raw=_line(tax=None))
@example(raw=_line(tax=[]))
@example(raw=_line(tax=({**CA},)))
@example(raw=_line(fees=[{"type": "restocking_fee", "amount": "2.50", "tax": [CA]}]))
@example(raw=_line(fees=[{"type": "restocking_fee", "amount": "2.50", "tax": [CA, CA]}]))
@example(raw=_line(fees=[{"type": "restocking_fee", "amount": "2.50", "tax": None}]))
@example(raw=_line(fees=[{"type": "restocking_fee", "amount": "2.50", "tax": {}}]))
@example(raw=_line(fees=[{"type": "restocking_fee", "amount": "2.501"}]))
@example(raw=_line(fees=[{"type": "restocking_fee", "amount": "2.50", "currency": "CAD"}]))
@example(raw=_line(fees=[{"type": "nope", "amount": "2.50"}]))
@example(raw=_line(fees=[{"type": "restocking_fee"}]))
@given(raw=damaged_record(0))
@fuzz(400)
def test_the_fast_paths_read_a_record_as_the_full_checks_do(raw: Any) -> None:
    fast = parse_return(raw, CTX, fix=FILE_FIX)
    full = parse_return(_slow(raw), CTX, fix=FILE_FIX)
    assert fast == full
    record("rms parser fast paths", examples=1, quarantined=int(fast[0] is None))


def test_the_fast_paths_take_the_usual_entries() -> None:
    """The differential test above compares something: a usual line, fee and tax entry are taken
    fast, as the full checks read them."""
    raw = _line(fees=[{"type": "restocking_fee", "amount": "2.50"}], tax=[CA], unit_cost="1.00")
    raw["refund_total"] = refund_total(raw["lines"], raw["fees"])
    line, fee = raw["lines"][0], raw["fees"][0]
    assert plain_line(line, set(), CTX, "USD") is not None
    assert plain_fee(fee, CTX, "USD") is not None
    assert plain_fee({**fee, "tax": [CA]}, CTX, "USD") is not None
    assert plain_tax(CA, set(), CTX.jurisdictions, "USD") is not None
    record_, problems = parse_return(raw, CTX, fix=FILE_FIX)
    assert record_ is not None and not problems
    assert record_.lines[0] == plain_line(line, set(), CTX, "USD")
    assert record_.fees[0] == plain_fee(fee, CTX, "USD")
    assert parse_return(_slow(raw), CTX, fix=FILE_FIX) == (record_, problems)
