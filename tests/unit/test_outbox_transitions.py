"""The outbox's named transitions: each starts only from the states it lists; others are refused
and leave the document exactly as it was."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.money import Money
from desktop.services.pipeline import outbox
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.store.models import OutboxDocument, OutboxStatus

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ERR = NeedsPersonError("refused")
DOC = LedgerDocument(role="refund", platform="qbo", doc_type="CreditMemo", idempotency_key="k1",
                     txn_date=date(2026, 12, 7), currency="USD", total=Money(Decimal("10.00"), "USD"),
                     payload={"Line": []}, journal=(), source=("ORG", "r1", 1), mapping_version=1,
                     home_currency="USD")

CALLS: dict[str, Callable[[OutboxDocument], Any]] = {
    "settle_posted": lambda r: outbox.settle_posted(r, "9", "N-9", "0", now=NOW),
    "settle_failed": lambda r: outbox.settle_failed(r, ERR, now=NOW, backoff=outbox.Backoff(), rng=random.Random(1)),
    "settle_uncertain": lambda r: outbox.settle_uncertain(r, ERR, now=NOW),
    "settle_quarantined": lambda r: outbox.settle_quarantined(r, ERR, now=NOW),
    "release": lambda r: outbox.release(r, now=NOW),
    "retry": lambda r: outbox.retry(r, now=NOW),
    "await_adoption": lambda r: outbox.await_adoption(r, "HAND-1", "typed by hand", now=NOW),
    "note_adoption_problem": lambda r: outbox.note_adoption_problem(r, "totals differ", now=NOW),
    "adopt": lambda r: outbox.adopt(r, "9", "HAND-1", "0", now=NOW, resolution={"resolution": "adopted"}),
    "replace_document": lambda r: outbox.replace_document(r, DOC, 1, now=NOW),
    "request_void": lambda r: outbox.request_void(r, now=NOW, actor="alice", undo=1),
    "settle_voided": lambda r: outbox.settle_voided(r, "voided", now=NOW, actor="alice", undo=1),
    "note_void_problem": lambda r: outbox.note_void_problem(r, ERR, now=NOW),
    "cancel_void": lambda r: outbox.cancel_void(r, "edited", now=NOW, actor="alice", undo=1),
}


def _row(status: OutboxStatus) -> OutboxDocument:
    return OutboxDocument(idempotency_key="k1", doc_type="CreditMemo", status=status, attempts=1,
                          awaiting_number="HAND-1" if status is OutboxStatus.AWAITING_ADOPTION else None,
                          last_error={"kind": "x"}, payload={}, updated_at=NOW)


def _state(row: OutboxDocument) -> tuple[Any, ...]:
    return (row.status, row.awaiting_number, row.last_error, row.next_attempt_at, row.remote_id, row.payload)


def test_every_transition_is_named_and_covered() -> None:
    assert set(CALLS) | {"claim", "reclaim", "withdraw"} == set(outbox.TRANSITIONS)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("status", list(OutboxStatus), ids=[s.value for s in OutboxStatus])
def test_a_transition_runs_only_from_its_states(name: str, status: OutboxStatus) -> None:
    row = _row(status)
    before = _state(row)
    if status in outbox.TRANSITIONS[name]:
        CALLS[name](row)
        assert row.updated_at == NOW
        return
    with pytest.raises(outbox.IllegalTransition):
        CALLS[name](row)
    assert _state(row) == before, "a refused transition changes nothing"


def test_a_document_awaiting_adoption_can_only_be_adopted_or_re_pointed() -> None:
    allowed = {n for n, states in outbox.TRANSITIONS.items() if OutboxStatus.AWAITING_ADOPTION in states}
    assert allowed == {"await_adoption", "note_adoption_problem", "adopt"}
    with pytest.raises(outbox.IllegalTransition, match="post it twice"):
        outbox.retry(_row(OutboxStatus.AWAITING_ADOPTION), now=NOW)


def test_retry_refusals_say_why() -> None:
    with pytest.raises(outbox.IllegalTransition, match="may already be in the ledger"):
        outbox.retry(_row(OutboxStatus.UNCERTAIN), now=NOW)
    with pytest.raises(outbox.IllegalTransition, match="posted; there is nothing to retry"):
        outbox.retry(_row(OutboxStatus.POSTED), now=NOW)


def test_adoption_records_the_ledger_document_and_forgets_the_typed_number() -> None:
    row = _row(OutboxStatus.AWAITING_ADOPTION)
    outbox.adopt(row, "77", "HAND-1", "3", now=NOW, resolution={"resolution": "adopted", "manual_entry": 5})
    assert (row.status, row.remote_id, row.remote_number, row.sync_token) == (OutboxStatus.POSTED, "77", "HAND-1", "3")
    assert row.awaiting_number is None and row.posted_at == NOW
    assert row.last_error == {"resolution": "adopted", "manual_entry": 5, "at": NOW.isoformat()}


def test_last_error_is_redacted_when_it_is_written() -> None:
    row = _row(OutboxStatus.IN_FLIGHT)
    leak = NeedsPersonError("refused", platform_message="echoed refresh_token=RT-0123456789abcdef back")
    outbox.settle_quarantined(row, leak, now=NOW)
    assert row.last_error is not None and "RT-0123456789abcdef" not in str(row.last_error)
    assert row.last_error["message"] == "refused"
