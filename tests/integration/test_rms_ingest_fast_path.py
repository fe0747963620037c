"""The fast paths of ingest decide exactly as the full checks they short-cut (issue 14's import speed).

Ingest reads the usual well-formed record through shortcuts: plain amounts (``Money.parse_plain``),
usable text (``parse._usable_text``), plain lines, fees and tax entries (``rms/parse_fast.py``),
payloads of plain JSON types (``exact_json.is_plain``: the canonical text, the JSON column's check),
a read-only walk before the copying one in ``storable`` (which also proves a payload plain, so its
JSON is encoded once), redaction skipping text that no secret pattern can match, and flat event
details redacted in one pass (``redact_flat``). This ingests one mixed
sample of good and bad records twice, into two fresh databases — once as shipped, once with every
shortcut switched off — and requires the same rows (returns, lines, tax lines, fees, quarantine
reasons, column by column), the same counts and the same events.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.core import events as events_module
from desktop.services.core import exact_json
from desktop.services.core import redaction as redaction_module
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import Event, EventBus
from desktop.services.core.money import Money
from desktop.services.rms import parse, records, storable
from desktop.services.rms.context import PROFILE_KEY, OrgContext
from desktop.services.rms.ingest import Incoming, IngestService
from desktop.services.rms.parse import FILE_FIX, parse_return
from desktop.services.store.db import Database
from desktop.services.store.models import (
    Organization,
    Platform,
    QuarantineReason,
    Return,
    ReturnFee,
    ReturnLine,
    ReturnTaxLine,
)
from tests.helpers.db import database_url, migrated

pytestmark = pytest.mark.db

ORG = "FAST-US"
PROFILE = {"code": ORG, "name": "Fast Inc.", "country": "US", "home_currency": "USD", "currencies": ["USD", "JPY"],
           "timezone": "America/New_York",
           "tax_jurisdictions": [{"code": "US-CA", "name": "California", "rate": "0.0725"},
                                 {"code": "US-CA-LA", "name": "Los Angeles", "rate": "0.0225"}]}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def good(n: int) -> dict[str, Any]:
    """A clean return: 2 × 10.00 + 1.45 + 0.45 tax, and 5.00 + 0.36 + 0.11 tax; a 2.50 restocking fee withheld."""
    return {
        "id": f"ret_{n}", "rma_number": f"RMA-{n}", "revision": 1, "organization": ORG,
        "customer": {"id": f"cus_{n}", "name": "Olivia Johnson", "email": "olivia@example.com"},
        "channel": "web", "warehouse": "WH-1", "currency": "USD",
        "created_at": "2026-11-20T10:15:00.123Z", "updated_at": "2026-11-21T08:00:00+02:00",
        "refund_method": "original_payment", "status": "received",
        "lines": [
            {"line_id": "ln_1", "sku": "SKU-1", "description": "Tent", "quantity": 2, "unit_price": "10.00",
             "reason_code": "DAMAGED", "disposition": "RESTOCK",
             "tax": [{"jurisdiction": "US-CA", "rate": "0.0725", "amount": "1.45"},
                     {"jurisdiction": "US-CA-LA", "rate": "0.0225", "amount": "0.45"}]},
            {"line_id": "ln_2", "sku": "SKU-2", "description": "", "quantity": "1", "unit_price": "5",
             "reason_code": "WRONG_ITEM", "disposition": "SCRAP",
             "tax": [{"jurisdiction": "US-CA", "rate": "0.0725", "amount": "0.36"},
                     {"jurisdiction": "US-CA-LA", "rate": "0.0225", "amount": "0.11"}]},
        ],
        "fees": [{"type": "restocking_fee", "amount": "2.50"}],
        "refund_total": "24.87",
    }


def _line(field: str, value: object, line: int = 0) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        doc["lines"][line][field] = value
    return change


def _set(field: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        doc[field] = value
    return change


def _jpy(doc: dict[str, Any]) -> None:
    doc["currency"] = "JPY"
    for line, price, taxes in ((0, "1000", ("73", "23")), (1, "500", ("36", "11"))):
        doc["lines"][line]["unit_price"] = price
        for tax, amount in zip(doc["lines"][line]["tax"], taxes, strict=True):
            tax["amount"] = amount
    doc["fees"] = [{"type": "restocking_fee", "amount": "250"}]
    doc["refund_total"] = "2393"


#: Changes to a good record: the good ones still pass (some only through the full checks), the
#: others fail in every way the fast paths could have decided differently.
CHANGES: list[Callable[[dict[str, Any]], None]] = [
    _line("unit_price", " 10.00"), _line("unit_price", "10.0"), _line("unit_price", "0010.00"),
    _line("unit_price", "10.001"), _line("unit_price", "10.000"), _line("unit_price", "-10.00"),
    _line("unit_price", "1e1"), _line("unit_price", "10,00"), _line("unit_price", ""), _line("unit_price", None),
    _line("unit_price", Decimal("10.00")), _line("unit_price", 10), _line("unit_price", "USD 10.00"),
    _line("unit_price", "١٠.٠٠"), _line("unit_price", "99999999999999999999.99"), _line("unit_price", "token=12"),
    _line("sku", "   "), _line("sku", ""), _line("sku", "S" * 100), _line("sku", "S" * 101), _line("sku", 7),
    _line("description", "   "), _line("description", None), _line("sku", "SKU\x00-1"), _line("sku", "\ud800"),
    _set("rma_number", "R" * 64), _set("rma_number", "R" * 65), _set("status", "s" * 41), _set("channel", "\t"),
    _set("refund_total", "24.88"), _set("refund_total", "-24.87"), _set("refund_total", "24.870"),
    _set("currency", "CAD"), _set("currency", "usd"), _jpy, lambda d: (_jpy(d), _line("unit_price", "1000.5")(d)),
    _set("extra", {"nested": [Decimal("1.10"), True, None, 3]}), _set("extra", {"password": "hunter2 secret"}),
    lambda d: d["lines"][0]["tax"].append({"jurisdiction": "US-CA", "rate": "0.0725", "amount": "0.01"}),
    lambda d: d["lines"][0]["tax"][0].update(jurisdiction="US-NY"),
    lambda d: d["fees"][0].update(amount="2.5"), lambda d: d["fees"][0].update(amount="-2.50"),
]


def sample() -> list[dict[str, Any]]:
    docs = [good(0)]
    for n, change in enumerate(CHANGES, 1):
        doc = good(n)
        change(doc)
        docs.append(doc)
    docs.append(copy.deepcopy(docs[1]))  # a duplicate copy
    conflicting = copy.deepcopy(docs[2])
    conflicting["status"] = "inspected"
    docs.append(conflicting)  # a different copy of one revision
    newer = good(3)
    newer["revision"] = 2
    docs.append(newer)  # supersedes revision 1
    return docs


@contextmanager
def full_checks_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every fast path off: each value goes through the checks the fast path stands in for."""
    with monkeypatch.context() as m:
        m.setattr(Money, "parse_plain", classmethod(lambda cls, text, currency: None))
        m.setattr(parse, "_usable_text", lambda value, allow_empty, max_len: False)
        m.setattr(exact_json, "is_plain", lambda value, tuples=True: False)
        m.setattr(records, "is_plain", lambda value, tuples=True: False)
        m.setattr(storable, "_survey", lambda raw: (False, False))
        for name in ("plain_line", "plain_fee", "plain_tax"):
            m.setattr(parse, name, lambda *args: None)
        m.setattr(events_module, "redact_flat", lambda details: None)
        m.setattr(redaction_module, "_MAY_HOLD_SECRET", re.compile(""))
        yield


def _snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    with db.session() as session:
        return {model.__tablename__: [dict(row) for row in session.execute(
            sa.select(model.__table__).order_by(model.__table__.c.id)).mappings()]
            for model in (Return, ReturnLine, ReturnTaxLine, ReturnFee, QuarantineReason)}


def _ingest(url: str, docs: list[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], tuple[int, ...],
                                                           list[tuple[Any, ...]]]:
    with migrated(url) as db:
        with db.write_session() as s:
            s.add(Organization(code=ORG, name="Fast Inc.", platform=Platform.QBO, timezone="America/New_York",
                               home_currency="USD", settings={PROFILE_KEY: PROFILE}, created_at=T0, updated_at=T0))
        bus = EventBus(ManualClock(T0))
        seen: list[Event] = []
        bus.subscribe(seen.append)
        service = IngestService(db, bus, bus.clock)
        result = service.ingest(ORG, [Incoming(raw=copy.deepcopy(d)) for d in docs], ctx=service.context_for(ORG),
                                fix=FILE_FIX, source="file:sample.json", batch_size=7)
        counts = (result.ingested, result.quarantined, result.unchanged, result.duplicates, result.conflicts,
                  result.superseded)
        return _snapshot(db), counts, [(e.kind, e.severity, e.message, e.rma, e.details) for e in seen]


def test_fast_and_full_paths_store_the_same_rows_codes_and_events(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = sample()
    fast = _ingest(db_url, docs)
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    (tmp_path / "full").mkdir()
    with database_url(backend, tmp_path / "full") as other, full_checks_only(monkeypatch):
        full = _ingest(other, docs)

    assert fast[1] == full[1]
    assert fast[2] == full[2]
    assert fast[0] == full[0]
    ingested, quarantined = fast[1][0], fast[1][1]
    assert ingested >= 6 and quarantined >= 30, fast[1]  # the sample exercises both outcomes
    codes = {r["code"] for r in fast[0]["quarantine_reasons"]}
    assert {"too_many_decimals", "negative_amount", "malformed_amount", "value_too_long", "missing_field",
            "refund_total_mismatch", "unstorable_text", "conflicting_revision"} <= codes, codes


def test_parse_fast_and_full_paths_agree_record_by_record(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = OrgContext.from_profile(PROFILE)
    docs = sample()
    fast = [parse_return(d, ctx, fix=FILE_FIX) for d in docs]
    with full_checks_only(monkeypatch):
        full = [parse_return(d, ctx, fix=FILE_FIX) for d in docs]
    for doc, a, b in zip(docs, fast, full, strict=True):
        assert a == b, doc
        if a[0] is not None:  # same amounts, down to the Decimal's digits and scale
            assert [(str(x.unit_price.amount), x.unit_price.currency) for x in a[0].lines] == [
                (str(x.unit_price.amount), x.unit_price.currency) for x in b[0].lines]
