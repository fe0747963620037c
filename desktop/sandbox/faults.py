"""Fault injection: rules that make the emulators misbehave the way real networks and services do.

Tests and demos add rules through ``POST /_sandbox/faults``; the server asks :class:`FaultInjector`
before every emulator request what to do. Probabilities draw from one seeded RNG, so a test run
with the same seed and the same request order sees the same faults: failures are repeatable.

Actions:

* ``status`` — answer with that HTTP status in the service's own error envelope; state untouched.
* ``delay`` — sleep ``delay_s`` and go on evaluating later rules (so a delay can combine with
  another fault), then serve normally.
* ``reset_connection`` — close the TCP connection without any response; state untouched.
* ``commit_then_drop`` — run the request (state changes happen), then drop the connection without
  sending the response: the "did my POST land?" case that idempotency keys exist for.
Any rule may say ``after``: it lets that many matching requests through untouched before it
starts firing — a fault at a known request (say, the 40th void of an undo), not a random one.

* ``hold`` — keep each matching request waiting until ``hold_for`` of them wait together (then
  release them all), or ``delay_s`` passes; ``peak_held`` in the rule's JSON says how many ever
  waited at once. A deterministic proof that a client sends requests in parallel: a client that
  sends one at a time never reaches ``hold_for``.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ACTIONS = ("status", "delay", "reset_connection", "commit_then_drop", "hold")
SERVICES = ("qbo", "xero", "rms", "*")


class FaultRuleError(ValueError):
    """A rule in a ``POST /_sandbox/faults`` body is malformed (answered with HTTP 400)."""


@dataclass
class FaultRule:
    """One rule; ``times`` counts down each time it fires (``None`` = forever)."""

    service: str
    action: str
    method: str | None = None
    path_regex: str | None = None
    status: int = 503
    delay_s: float = 0.0
    times: int | None = None
    probability: float = 1.0
    message: str = ""
    hold_for: int = 0
    after: int = 0
    fired: int = 0
    peak_held: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _held: int = 0
    _round: int = 0

    @classmethod
    def from_json(cls, raw: Any) -> FaultRule:
        """Validate one rule from the control API; errors name the offending field."""
        if not isinstance(raw, dict):
            raise FaultRuleError("each rule must be a JSON object")
        unknown = set(raw) - {"service", "method", "path_regex", "action", "status", "delay_s",
                              "times", "probability", "message", "hold_for", "after"}
        if unknown:
            raise FaultRuleError(f"unknown rule fields: {sorted(unknown)}")
        service = raw.get("service")
        if service not in SERVICES:
            raise FaultRuleError(f"service must be one of {list(SERVICES)}")
        action = raw.get("action")
        if action not in ACTIONS:
            raise FaultRuleError(f"action must be one of {list(ACTIONS)}")
        rule = cls(service=service, action=action)
        method = raw.get("method")
        if method is not None:
            if not isinstance(method, str) or not method:
                raise FaultRuleError("method must be an HTTP method name")
            rule.method = method.upper()
        path_regex = raw.get("path_regex")
        if path_regex is not None:
            try:
                rule._pattern = re.compile(path_regex)
            except (re.error, TypeError) as exc:
                raise FaultRuleError(f"path_regex does not compile: {exc}") from exc
            rule.path_regex = path_regex
        status = raw.get("status", 503 if action == "status" else None)
        if action == "status":
            if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
                raise FaultRuleError("status must be an integer from 400 to 599")
            rule.status = status
        delay = raw.get("delay_s", 0)
        if not isinstance(delay, int | float | Decimal) or isinstance(delay, bool) or not 0 <= delay <= 120:
            raise FaultRuleError("delay_s must be a number of seconds from 0 to 120")
        rule.delay_s = float(delay)
        times = raw.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise FaultRuleError("times must be a positive integer")
        rule.times = times
        probability = raw.get("probability", 1.0)
        if (not isinstance(probability, int | float | Decimal) or isinstance(probability, bool)
                or not 0 <= probability <= 1):
            raise FaultRuleError("probability must be a number from 0 to 1")
        rule.probability = float(probability)
        message = raw.get("message", "")
        if not isinstance(message, str):
            raise FaultRuleError("message must be a string")
        rule.message = message or f"Injected fault: HTTP {rule.status}"
        hold_for = raw.get("hold_for", 0)
        if action == "hold" and (not isinstance(hold_for, int) or isinstance(hold_for, bool) or not 2 <= hold_for
                                 <= 64 or not rule.delay_s):
            raise FaultRuleError("a hold rule needs hold_for (2 to 64 requests) and delay_s (its time-out)")
        rule.hold_for = int(hold_for) if action == "hold" else 0
        after = raw.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise FaultRuleError("after must be a whole number of requests (0 or more)")
        rule.after = after
        return rule

    def hold(self) -> None:
        """Wait until ``hold_for`` requests wait together, or ``delay_s`` passes (see the module docstring)."""
        with self._cond:
            self._held += 1
            self.peak_held = max(self.peak_held, self._held)
            my_round = self._round
            if self._held >= self.hold_for:
                self._round += 1
                self._cond.notify_all()
            else:
                self._cond.wait_for(lambda: self._round != my_round, timeout=self.delay_s)
            self._held -= 1

    def matches(self, service: str, method: str, path: str, subpath: str) -> bool:
        """Whether this rule applies; the regex may match the full path or the service subpath."""
        if self.service not in ("*", service):
            return False
        if self.method is not None and self.method != method.upper():
            return False
        if self._pattern is not None:
            return bool(self._pattern.search(subpath) or self._pattern.search(path))
        return True

    def as_json(self) -> dict[str, Any]:
        return {"service": self.service, "action": self.action, "method": self.method,
                "path_regex": self.path_regex, "status": self.status, "delay_s": self.delay_s,
                "times": self.times, "probability": self.probability, "fired": self.fired, "after": self.after,
                **({"hold_for": self.hold_for, "peak_held": self.peak_held} if self.action == "hold" else {})}


@dataclass(frozen=True)
class FaultDecision:
    """What the server must do with one request: total delay first, then maybe one terminal action."""

    delay_s: float = 0.0
    rule: FaultRule | None = None  # a non-delay rule that fired, or None to serve normally
    holds: tuple[FaultRule, ...] = ()  # hold rules to wait on, after the delay


class FaultInjector:
    """The active rules plus the seeded RNG; thread-safe, as the server is threaded."""

    def __init__(self, seed: int = 1) -> None:
        self._rules: list[FaultRule] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, raw_rules: Any) -> list[dict[str, Any]]:
        """Validate and append rules (all or nothing); returns every active rule."""
        if not isinstance(raw_rules, list) or not raw_rules:
            raise FaultRuleError('body must be {"rules": [ ...at least one rule... ]}')
        parsed = [FaultRule.from_json(r) for r in raw_rules]
        with self._lock:
            self._rules.extend(parsed)
        return self.as_json()

    def clear(self, seed: int | None = None) -> None:
        """Drop every rule; with ``seed``, also restart the RNG so the next run repeats exactly."""
        with self._lock:
            self._rules.clear()
            if seed is not None:
                self._rng = random.Random(seed)

    def as_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.as_json() for r in self._rules]

    def decide(self, service: str, method: str, path: str, subpath: str) -> FaultDecision:
        """Evaluate rules in order: delays accumulate, the first other rule that fires wins."""
        delay = 0.0
        holds: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.times <= 0:
                    continue
                if not rule.matches(service, method, path, subpath):
                    continue
                if rule.after > 0:  # let this one through; the rule fires from the next but `after`
                    rule.after -= 1
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.times is not None:
                    rule.times -= 1
                if rule.action == "delay":
                    delay += rule.delay_s
                    continue
                if rule.action == "hold":
                    holds.append(rule)
                    continue
                return FaultDecision(delay, rule, tuple(holds))
        return FaultDecision(delay, None, tuple(holds))
