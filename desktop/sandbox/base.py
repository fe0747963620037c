"""What every emulator shares: the emulator interface, per-service clocks, the token log, limits.

The server (``server.py``) owns routing, fault injection and the control API; each emulator
(``qbo``, ``xero``, ``rms``) implements :class:`Emulator` and answers requests under its prefix
exactly as the real service would under its own host.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response


class SandboxClock:
    """Real UTC time plus an adjustable offset, so tests can make tokens expire without waiting."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def set_offset(self, seconds: float) -> None:
        with self._lock:
            self._offset = timedelta(seconds=seconds)

    @property
    def offset_s(self) -> float:
        return self._offset.total_seconds()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        """Seconds for rate-limit windows; follows the offset too."""
        return time.monotonic() + self._offset.total_seconds()


@dataclass(frozen=True)
class IssuedToken:
    service: str
    kind: str  # "access" | "refresh" | "code" | "id" | "api_key"
    value: str
    issued_at: datetime


class TokenLog:
    """Every token any emulator issued, so tests can scan the app's files for leaks."""

    def __init__(self) -> None:
        self._items: list[IssuedToken] = []
        self._lock = threading.Lock()

    def record(self, service: str, kind: str, value: str, at: datetime) -> None:
        with self._lock:
            self._items.append(IssuedToken(service, kind, value, at))

    def as_json(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"service": t.service, "kind": t.kind, "value": t.value,
                     "issued_at": t.issued_at.isoformat()} for t in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class SlidingWindowLimit:
    """At most ``limit`` events in any ``window_s`` seconds (per key), on a :class:`SandboxClock`."""

    def __init__(self, limit: int, window_s: float, clock: SandboxClock) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, q: deque[float], now: float) -> None:
        while q and q[0] <= now - self.window_s:
            q.popleft()

    def try_acquire(self, key: str) -> tuple[bool, int, float]:
        """Count one hit if allowed. Returns (allowed, remaining after this hit, retry-after seconds)."""
        now = self._clock.monotonic()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            self._prune(q, now)
            if len(q) >= self.limit:
                retry = max(0.0, q[0] + self.window_s - now)
                return False, 0, retry
            q.append(now)
            return True, self.limit - len(q), 0.0

    def remaining(self, key: str) -> int:
        now = self._clock.monotonic()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            self._prune(q, now)
            return max(0, self.limit - len(q))

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


class ConcurrencyLimit:
    """At most ``limit`` requests in flight per key."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._active: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, key: str) -> bool:
        with self._lock:
            n = self._active.get(key, 0)
            if n >= self.limit:
                return False
            self._active[key] = n + 1
            return True

    def leave(self, key: str) -> None:
        with self._lock:
            self._active[key] = max(0, self._active.get(key, 0) - 1)


@dataclass
class SandboxContext:
    """Shared state handed to every emulator by the server."""

    tokens: TokenLog = field(default_factory=TokenLog)
    clocks: dict[str, SandboxClock] = field(default_factory=dict)
    base_url: str = ""  # e.g. "http://127.0.0.1:54321" (no trailing slash); set when the server binds
    usage: Any = None  # the server's ``usage.UsageMeter`` (every emulator request, counted as metered)

    def clock(self, service: str) -> SandboxClock:
        return self.clocks.setdefault(service, SandboxClock())


class Emulator(ABC):
    """One emulated outside service, mounted under ``/{name}`` by the server."""

    name: str = ""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx

    @property
    def clock(self) -> SandboxClock:
        return self.ctx.clock(self.name)

    @property
    def prefix_url(self) -> str:
        return f"{self.ctx.base_url}/{self.name}"

    @abstractmethod
    def handle(self, request: Request, subpath: str) -> Response:
        """Answer a request; ``subpath`` is the path after ``/{name}``, starting with ``/``."""

    @abstractmethod
    def reset(self, seed: int) -> None:
        """Forget everything and load the demo seed generated from ``seed``."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """This service's part of the start-up JSON line (base_url, client ids, companies…)."""

    def error_response(self, status: int, message: str) -> Response:
        """An error answer in this service's own envelope, for injected faults and server errors.

        The server calls this when a fault rule says "answer 503" or when an emulator raises, so
        the client sees exactly the body shape the real service would send. Emulators override
        it; this default is a plain ``{"error": message}`` JSON body.
        """
        body = json.dumps({"error": message})
        headers = {"Retry-After": "1"} if status in (429, 503) else {}
        return Response(body, status=status, mimetype="application/json", headers=headers)

    def configure(self, rate_limits: dict[str, Any] | None) -> None:
        """Change rate limits (``None`` restores the production values)."""
        return None

    def authorize(self, params: dict[str, Any]) -> str:
        """Simulated consent: return the redirect URL a user's approval would produce."""
        raise NotImplementedError(f"{self.name} has no OAuth")

    def ledger_documents(self, company: str) -> list[dict[str, Any]]:
        """Documents in one company, normalized.

        Each: type, id, number, reference, date, currency, total, status, raw.
        """
        raise NotImplementedError(f"{self.name} is not a ledger")

    def stock(self, company: str) -> dict[str, Any]:
        """Inventory in one company: tracked items with quantity on hand, each document's inventory
        entries and the account balances they make (what the product's reports would show)."""
        raise NotImplementedError(f"{self.name} is not a ledger")

    def tamper(self, company: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change the ledger as an accountant in the product's own UI would; returns the normalized doc."""
        raise NotImplementedError(f"{self.name} is not a ledger")

    def register_webhook(self, url: str, key: str) -> None:
        """Deliver signed webhooks for changes to ``url``, signed with ``key``."""
        raise NotImplementedError(f"{self.name} sends no webhooks")

    def close(self) -> None:
        """Stop background threads (webhook delivery)."""
        return None
