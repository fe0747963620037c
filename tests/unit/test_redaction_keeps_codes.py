"""A key named ``code`` is masked only where it is OAuth's authorization code (issue 15).

Everywhere else it is what a person needs to fix the problem: the platform's error code or our
own problem code (``account_currency_mismatch`` is 25 characters and used to be masked as a
"long token"). Secrets stay masked: the existing cases live in ``test_events.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from desktop.services.core.events import REDACTED, Event, Severity, redact, redact_text

ISSUED = "AB11701234567890aBcDeFgHiJkLmNoPq"


def test_problem_and_platform_codes_stay_readable() -> None:
    details = {"reasons": [{"code": "account_currency_mismatch", "message": "CAD account for a USD refund"},
                           {"code": "unknown_tax_jurisdiction", "field": "tax_lines[0]"}],
               "fault": {"Error": [{"code": "6000", "Message": "A business validation error has occurred"}]},
               "code": "QuotaExceededException", "state": "quarantined"}
    assert redact(details) == details


def test_oauth_codes_are_still_masked_in_oauth_exchanges() -> None:
    token_request = {"grant_type": "authorization_code", "code": "short-ok", "redirect_uri": "https://x/cb"}
    assert redact(token_request)["code"] == REDACTED  # any value, however short, beside grant_type
    qbo_callback = {"code": ISSUED, "state": "s-1", "realmId": "9130350000000001"}
    assert redact(qbo_callback)["code"] == REDACTED
    bare_callback = {"code": ISSUED, "state": "s-1"}
    assert redact(bare_callback)["code"] == REDACTED
    # beside a plain "state" a word is a word
    assert redact({"code": "account_currency_mismatch", "state": "quarantined"})["code"] == "account_currency_mismatch"
    assert ISSUED not in redact_text(f"GET /callback?code={ISSUED}&state=s-1")
    assert "short" not in redact_text("POST /token grant_type=authorization_code&code=short&redirect_uri=x")


def test_an_events_details_keep_the_code_and_mask_the_token() -> None:
    event = Event("document.failed", Severity.WARNING, "rejected", datetime(2026, 11, 20, tzinfo=UTC),
                  details={"code": "account_currency_mismatch", "access_token": "at-1234567890"})
    assert event.details == {"code": "account_currency_mismatch", "access_token": REDACTED}

