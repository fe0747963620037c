"""``redact_flat``: the one-pass redaction of an event's flat details gives exactly what the walk gives.

Most events (ingest's above all, one per return) carry a flat ``dict`` of text and numbers;
``Event`` takes those through :func:`~desktop.services.core.redaction.redact_flat` instead of the
recursive ``json_safe(redact(...))``. On any flat dict — secret-looking keys, OAuth's ``code`` with
and without its siblings, credentials inside text — both must agree; anything not flat is left to the walk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.services.core.events import Event, Severity, json_safe
from desktop.services.core.redaction import REDACTED, redact, redact_flat

KEYS = st.one_of(st.text(max_size=8), st.sampled_from(
    ["rms_id", "revision", "source", "status", "token", "access_token", "password", "code", "state", "grant_type",
     "redirect_uri", "client_secret", "X-Api-Key", "api_key", "problem_code", "secret_name"]))
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12), st.sampled_from(
    ["", "Bearer abcdefghijklmnop", "access_token=abc123secret", "AB11701234567890aBcDeFgHiJ", "code=6000",
     "https://user:pw@example.com/x", "ret_1", "file:orders.csv"]))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_flat_details_are_redacted_as_the_walk_redacts_them(details: dict[str, Any]) -> None:
    assert redact_flat(details) == json_safe(redact(details))


class _Level(IntEnum):
    ONE = 1


@pytest.mark.parametrize("details", [
    {"a": 1.5}, {"a": Decimal("1.0")}, {"a": [1]}, {"a": {"b": 1}}, {1: "x"}, {"a": _Level.ONE}, ("a",), "text",
])
def test_anything_else_is_left_to_the_walk(details: Any) -> None:
    assert redact_flat(details) is None


def test_an_event_redacts_its_flat_details() -> None:
    event = Event(kind="return.ingested", severity=Severity.INFO, message="ok", occurred_at=datetime.now(UTC),
                  details={"rms_id": "ret_1", "revision": 2, "source": "file:a.csv", "token": "abc", "note":
                           "access_token=abc123secret"})
    assert event.details["token"] == REDACTED
    assert "abc123secret" not in event.details["note"]
    assert event.details["rms_id"] == "ret_1" and event.details["revision"] == 2
