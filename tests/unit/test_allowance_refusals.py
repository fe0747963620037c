"""Which 429 answers mean a used-up metered allowance (not a per-minute rate limit), and when it resets.

API_FACTS §4, §5, §9: QuickBooks' throttle is 429 + fault 3001 ThrottleExceeded; the shape of its
monthly-quota refusal is UNCONFIRMED (an answer naming the allowance counts, else the app's own
count decides: ``None``). Xero names the limit in ``X-Rate-Limit-Problem``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from desktop.services.connections.allowance import next_reset
from desktop.services.platforms.registry import platform_for

THROTTLED = ('{"Fault": {"Error": [{"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429", '
             '"Detail": "The request limit was reached. Try again later", "code": "3001"}], "type": "SERVICE"}}')
QUOTA = THROTTLED.replace("The request limit was reached. Try again later",
                          "The monthly allowance of metered read calls was reached")


@pytest.mark.parametrize(("platform", "headers", "text", "said"), [
    ("qbo", {"Retry-After": "60"}, THROTTLED, None),           # the minute's throttle, or the quota: count decides
    ("qbo", {}, "<Fault type=\"SERVICE\"><Error code=\"3001\"/></Fault>", None),
    ("qbo", {"Retry-After": "60"}, QUOTA, True),
    ("xero", {"X-Rate-Limit-Problem": "minute", "Retry-After": "12"}, "", False),
    ("xero", {"X-Rate-Limit-Problem": "concurrent"}, "", False),
    ("xero", {"X-Rate-Limit-Problem": "appminute"}, "", False),
    ("xero", {"X-Rate-Limit-Problem": "day", "Retry-After": "3600"}, "", True),
    ("xero", {"X-Rate-Limit-Problem": "Daily"}, "", True),
])
def test_a_429_is_an_allowance_used_up_only_when_it_says_so(platform: str, headers: dict[str, str], text: str,
                                                           said: bool | None) -> None:
    assert platform_for(platform).allowance_refused(headers, text) is said


def test_the_reset_is_the_next_month_for_quickbooks_and_the_retry_after_for_xero() -> None:
    at = datetime(2026, 12, 7, 18, 30, tzinfo=UTC)
    assert next_reset(platform_for("qbo"), at, "60") == datetime(2027, 1, 1, tzinfo=UTC)
    xero = platform_for("xero")
    assert next_reset(xero, at, "3600") == at + timedelta(hours=1)
    assert next_reset(xero, at, None) == datetime(2026, 12, 8, tzinfo=UTC)  # no Retry-After: the next UTC midnight
    assert next_reset(xero, at, "soon") == datetime(2026, 12, 8, tzinfo=UTC)
