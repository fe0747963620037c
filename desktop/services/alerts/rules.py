"""Which events raise an alert, and the alert's text.

Five rules (issue 7): a sync step failed; quarantined documents above a threshold; new
reconciliation variances; a ledger sign-in about to lapse; the day's API budget of a ledger
running low. A rule turns one event into at most one :class:`Alert`; the service decides who
gets it and throttles repeats by :attr:`Alert.dedupe_key`.

Every text of an alert is built from an event (already redacted by the bus) and passed through
:func:`desktop.services.core.events.redact_text` / :func:`redact` once more: an alert never carries a
token, password or secret, whichever way it is delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from desktop.services.core.events import Event, EventKind, Severity, json_safe, redact, redact_text
from desktop.services.core.words import class_words

__all__ = ["ALERT_DELIVERY_FAILED", "ALERT_RAISED", "RATE_BUDGET_LOW", "RULES", "Alert", "RuleName", "Thresholds",
           "evaluate"]

#: The event the GUI tray listens to (one per alert; ``details`` has rule, title and body).
ALERT_RAISED = "alert.raised"
ALERT_DELIVERY_FAILED = "alert.delivery_failed"
#: Published by whoever watches a ledger's daily budget (``details``: remaining, limit).
RATE_BUDGET_LOW = "connection.rate_budget_low"


class RuleName(StrEnum):
    SYNC_FAILURE = "sync_failure"
    QUARANTINE_THRESHOLD = "quarantine_threshold"
    VARIANCE_FOUND = "variance_found"
    TOKEN_EXPIRING = "token_expiring"  # noqa: S105 - a rule name, not a secret
    RATE_BUDGET_LOW = "rate_budget_low"
    METERED_USE_HIGH = "metered_use_high"


RULES = tuple(RuleName)


@dataclass(frozen=True)
class Thresholds:
    quarantine: int = 10                 # alert when an organization has more quarantined items than this
    rate_budget_pct: int = 10            # alert when less than this percentage of the day's calls is left


@dataclass(frozen=True)
class Alert:
    rule: RuleName
    severity: Severity
    title: str
    body: str
    org: str | None
    dedupe_key: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", redact_text(self.title))
        object.__setattr__(self, "body", redact_text(self.body))
        object.__setattr__(self, "details", json_safe(redact(dict(self.details))))


QuarantineCount = Callable[[str | None], int]


def _sync_failure(e: Event, t: Thresholds, quarantined: QuarantineCount) -> Alert | None:
    if e.kind == EventKind.RETURN_PAGE_SET_ASIDE:  # the feed went on, but a return was left behind
        action = str(e.details.get("action") or "")
        return Alert(RuleName.SYNC_FAILURE, Severity.ERROR, f"{e.org or 'RMS'}: a return was set aside",
                     e.message + (f"\nWhat to do: {action}" if action else ""), e.org,
                     f"sync_failure|{e.org}|ingest|set_aside", {"job": "ingest"})
    if e.kind != EventKind.SYNC_FAILED:
        return None
    job = str(e.details.get("job", "sync"))
    text = e.message + (f"\n{e.platform} says: {e.platform_message}" if e.platform_message else "")
    return Alert(RuleName.SYNC_FAILURE, max(e.severity, Severity.ERROR), f"{e.org or 'Sync'}: {job} failed",
                 text, e.org, f"sync_failure|{e.org}|{job}|{e.platform_code or ''}", {"job": job})


def _quarantine(e: Event, t: Thresholds, quarantined: QuarantineCount) -> Alert | None:
    if e.kind not in (EventKind.DOCUMENT_QUARANTINED, EventKind.RETURN_QUARANTINED):
        return None
    count = quarantined(e.org)
    if count <= t.quarantine:
        return None
    return Alert(RuleName.QUARANTINE_THRESHOLD, Severity.WARNING,
                 f"{e.org}: {count} items quarantined (threshold {t.quarantine})",
                 f"{count} returns or documents of {e.org} wait for a person (latest: {e.message}). "
                 "Open the Errors page to fix mappings or data.", e.org, f"quarantine|{e.org}", {"count": count})


def _variance(e: Event, t: Thresholds, quarantined: QuarantineCount) -> Alert | None:
    if e.kind != EventKind.RECONCILIATION_FINISHED or not int(e.details.get("new") or 0):
        return None
    new = int(e.details["new"])
    counts = {k: v for k, v in dict(e.details.get("counts") or {}).items() if v}
    lines = "\n".join(f"  {class_words(k)}: {v}" for k, v in sorted(counts.items()))
    return Alert(RuleName.VARIANCE_FOUND, Severity.WARNING, f"{e.org}: {new} new reconciliation variance(s)",
                 f"{e.message}\nOpen variances by class:\n{lines}\nReview them on the Reconciliation page.",
                 e.org, f"variance|{e.org}|{e.details.get('run_id')}", {"new": new, "counts": counts})


def _token(e: Event, t: Thresholds, quarantined: QuarantineCount) -> Alert | None:
    if e.kind != EventKind.CONNECTION_NEEDS_RECONNECT:
        return None
    return Alert(RuleName.TOKEN_EXPIRING, Severity.WARNING, f"{e.org}: ledger sign-in needs attention",
                 f"{e.message}\nReconnect it on the Connections page before sync stops.", e.org,
                 f"token|{e.org}|{e.platform}")


def _budget(e: Event, t: Thresholds, quarantined: QuarantineCount) -> Alert | None:
    remaining, limit = e.details.get("day_remaining", e.details.get("remaining")), e.details.get("day_limit",
                                                                                                  e.details.get("limit"))
    if e.kind not in (RATE_BUDGET_LOW, EventKind.CONNECTION_THROTTLED) or remaining is None:
        return None
    try:
        left, cap = int(remaining), int(limit) if limit is not None else None
    except (TypeError, ValueError):
        return None
    if cap and left * 100 >= cap * t.rate_budget_pct:
        return None
    return Alert(RuleName.RATE_BUDGET_LOW, Severity.WARNING, f"{e.org}: ledger API budget for today is low",
                 f"Only {left} of {cap or '?'} calls left today on {e.platform or 'the ledger'}; sync slows down "
                 "until the daily limit resets.", e.org, f"budget|{e.org}|{e.platform}",
                 {"remaining": left, "limit": cap})


def _metered(e: Event, t: Thresholds, quarantined: QuarantineCount) -> Alert | None:
    """The connection's metered use passed its warning share of the tier's allowance (once per period),
    or used it up (once per reset)."""
    if e.kind == EventKind.CONNECTION_ALLOWANCE_USED_UP:
        return Alert(RuleName.METERED_USE_HIGH, Severity.WARNING, f"{e.org}: metered ledger allowance used up",
                     e.message, e.org, f"used_up|{e.org}|{e.platform}|{e.details.get('until')}",
                     {"until": e.details.get("until")})
    if e.kind != EventKind.CONNECTION_USAGE_HIGH:
        return None
    period = "this month" if e.details.get("period") == "month" else "today"
    return Alert(RuleName.METERED_USE_HIGH, Severity.WARNING, f"{e.org}: metered ledger use is high",
                 f"{e.message}.\nScheduled reconciliation now runs at most hourly to save reads; posting goes on. "
                 f"Raise the plan's allowance with the ledger, or reconcile less often, before {period} runs out.",
                 e.org, f"usage|{e.org}|{e.platform}|{e.details.get('since')}",
                 {"used": e.details.get("used"), "allowance": e.details.get("allowance")})


_EVALUATORS = (_sync_failure, _quarantine, _variance, _token, _budget, _metered)


def evaluate(event: Event, thresholds: Thresholds, quarantined: QuarantineCount) -> list[Alert]:
    """Every alert ``event`` raises (usually none, at most one per rule). Alert events never do."""
    if event.kind.startswith("alert."):
        return []
    out = []
    for fn in _EVALUATORS:
        alert = fn(event, thresholds, quarantined)
        if alert is not None:
            out.append(alert)
    return out
