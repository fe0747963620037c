"""``explain``: an event told to a person — what happened, the platform's words, what to do."""

from __future__ import annotations

from datetime import UTC, datetime

from desktop.services.core.events import Event, EventKind, Severity
from desktop.services.queries.errors import DocumentContext, explain

AT = datetime(2026, 11, 20, 9, tzinfo=UTC)


def test_the_problems_advice_is_said_once_as_what_to_do() -> None:
    advice = "correct it in the RMS; the return will be re-read when it changes."
    event = Event(EventKind.RETURN_QUARANTINED, Severity.WARNING,
                  f"Return RMA-1 (revision 1) quarantined: currency 'XYZ' is not an ISO 4217 code — {advice}", AT,
                  org="ACME-US", rma="RMA-1",
                  details={"problems": [{"code": "wrong_currency", "field": "currency",
                                         "message": f"currency 'XYZ' is not an ISO 4217 code — {advice}"}]})
    told = explain(event)
    assert told.what_happened == "Return RMA-1 (revision 1) quarantined: currency 'XYZ' is not an ISO 4217 code"
    assert told.what_to_do == "Correct it in the RMS; the return will be re-read when it changes."
    assert [(p.code, p.what) for p in told.problems] == [("wrong_currency", "currency 'XYZ' is not an ISO 4217 code")]
    assert told.technical["event"]["problems"][0]["code"] == "wrong_currency"  # readable, not "***"


def test_the_ledgers_answer_comes_from_the_document_when_the_event_has_none() -> None:
    event = Event(EventKind.DOCUMENT_FAILED, Severity.WARNING, "CreditMemo did not post this time", AT,
                  org="ACME-US", rma="RMA-2", document_key="K-2")
    context = DocumentContext("K-2", "failed", "CreditMemo", 2, None, {"DocNumber": "CM-2", "access_token": "***"},
                              {"platform": "qbo", "platform_code": "6240", "platform_message": "Duplicate Name Exists"},
                              AT)
    told = explain(event, context)
    assert (told.platform, told.platform_code, told.platform_message) == ("qbo", "6240", "Duplicate Name Exists")
    assert told.what_to_do.startswith("Nothing yet: the sync tries again by itself")
    assert told.technical["request"]["DocNumber"] == "CM-2" and "last response" in told.technical


def test_an_errors_own_action_wins_and_information_needs_nothing() -> None:
    event = Event(EventKind.SYNC_FAILED, Severity.ERROR, "push for ACME-US failed — reconnect the ledger", AT,
                  org="ACME-US", details={"action": "reconnect the ledger"})
    told = explain(event)
    assert (told.what_happened, told.what_to_do) == ("push for ACME-US failed", "Reconnect the ledger")
    info = explain(Event(EventKind.DOCUMENT_POSTED, Severity.INFO, "Posted credit memo CM-1", AT, org="ACME-US"))
    assert info.what_to_do == "Nothing: this is for information."
