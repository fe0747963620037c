"""The planner's rate reads: a ledger that does not answer is a reason to plan again, never a
"no rate" quarantine (found by the fault drill: a dropped exchange-rate read quarantined returns)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from desktop.services.core.errors import NeedsPersonError, TransientError
from desktop.services.pipeline.plan import connector_rates
from desktop.services.platforms.registry import platform_for

DAY = date(2026, 11, 11)


class _Ledger:
    profile = platform_for("qbo")

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def exchange_rate(self, currency: str, day: date) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class _Connections:
    def __init__(self, ledger: _Ledger) -> None:
        self.ledger = ledger

    def connector(self, _connection_id: int) -> _Ledger:
        return self.ledger


def test_a_rate_the_ledger_gives_is_used() -> None:
    row = {"SourceCurrencyCode": "USD", "AsOfDate": "2026-11-10", "Rate": Decimal("1.3712")}
    found = connector_rates(_Connections(_Ledger(row)))(1, [("USD", DAY)])
    assert found[("USD", DAY)].rate == Decimal("1.3712") and found[("USD", DAY)].as_of == date(2026, 11, 10)


def test_a_rate_the_ledger_lacks_is_missing_for_pre_flight_to_report() -> None:
    assert connector_rates(_Connections(_Ledger(None)))(1, [("USD", DAY)]) == {}
    refused = NeedsPersonError("the company has multicurrency off", action="turn it on")
    assert connector_rates(_Connections(_Ledger(refused)))(1, [("USD", DAY)]) == {}


def test_a_ledger_that_does_not_answer_stops_planning_instead_of_quarantining() -> None:
    provide = connector_rates(_Connections(_Ledger(TransientError("QuickBooks did not answer"))))
    with pytest.raises(TransientError):
        provide(1, [("USD", DAY)])
