"""The token vault: OAuth grants live in the OS keyring only, never in the database or files.

Per connection the keyring holds two small entries (each well under Windows Credential
Manager's ~2.5 KB limit): the *grant* (refresh token, its expiry, QBO's hard expiry, Xero's
previous refresh token for its 30-minute grace) and the current *access token*, so that
another process sharing the connection can use it instead of refreshing again.

Refresh is single-flight: one refresh at a time per connection across threads (a lock per
connection) and across processes (an injected inter-process lock — a PostgreSQL advisory lock
or a file lock). The rotated refresh token is written to the keyring *before* the new access
token is handed out, so a crash between the two never strands the connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import keyring
import keyring.errors

from desktop.services.core.clock import Clock
from desktop.services.core.config import KEYRING_SERVICE as KEYRING_SERVICE  # re-exported (alerts, tests)
from desktop.services.core.errors import FatalError, NeedsReconnect
from desktop.services.core.keyring_calls import KEYRING_TRIES as KEYRING_TRIES  # re-exported (tests)
from desktop.services.core.keyring_calls import steady as _steady


@dataclass(frozen=True)
class Grant:
    """What survives a restart: the refresh side of an OAuth grant."""

    refresh_token: str
    obtained_at: datetime
    refresh_expires_at: datetime | None = None
    hard_expires_at: datetime | None = None  # QBO's 5-year cap (x_refresh_token_hard_expires_in)
    previous_refresh_token: str | None = None  # Xero: usable for a grace period after rotation
    previous_valid_until: datetime | None = None
    scope: str = ""

    def to_json(self) -> str:
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Grant:
        data: dict[str, Any] = json.loads(raw)
        for key in ("obtained_at", "refresh_expires_at", "hard_expires_at", "previous_valid_until"):
            if data.get(key):
                data[key] = datetime.fromisoformat(data[key])
        return cls(**data)


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime

    def valid_at(self, now: datetime, skew: timedelta) -> bool:
        return now + skew < self.expires_at


@dataclass(frozen=True)
class TokenResult:
    """A token endpoint's answer, already parsed (see the platform's OAuth module)."""

    access_token: str
    expires_in_s: int
    refresh_token: str
    refresh_expires_in_s: int | None = None
    hard_expires_in_s: int | None = None
    scope: str = ""


class Refresher(Protocol):
    def __call__(self, refresh_token: str) -> TokenResult: ...


LockFactory = Callable[[str], AbstractContextManager[object]]


class TokenVault:
    """Keyring-backed grants plus in-memory access tokens, with single-flight refresh."""

    def __init__(self, clock: Clock, *, process_lock: LockFactory | None = None,
                 service: str = KEYRING_SERVICE) -> None:
        self._clock = clock
        self._service = service
        self._process_lock = process_lock
        self._memory: dict[str, AccessToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # --- keyring entries -------------------------------------------------------------------
    def _get(self, user: str) -> str | None:
        try:
            return _steady(lambda: keyring.get_password(self._service, user))
        except keyring.errors.KeyringError as exc:
            raise FatalError("The OS keyring is not available", action="unlock or install a "
                             "Secret Service / Keychain / Credential Manager") from exc

    def _set(self, user: str, value: str) -> None:
        try:
            _steady(lambda: keyring.set_password(self._service, user, value))
        except keyring.errors.KeyringError as exc:
            raise FatalError("Could not write to the OS keyring", action="unlock the keyring") from exc

    def _delete(self, user: str) -> None:
        with suppress(keyring.errors.PasswordDeleteError):
            _steady(lambda: keyring.delete_password(self._service, user))

    def round_trip(self) -> str:
        """Write, read back and delete a throwaway entry (``--self-test``); returns the backend's name.

        Raises :class:`FatalError` when the keyring cannot be used, as every other entry point does."""
        user = f"self-test:{time.time_ns()}"
        value = f"check-{threading.get_ident()}-{time.monotonic_ns()}"
        self._set(user, value)
        try:
            if self._get(user) != value:
                raise FatalError("The OS keyring did not give back what was written to it",
                                 action="unlock or repair the Secret Service / Keychain / Credential Manager")
        finally:
            self._delete(user)
        return type(keyring.get_keyring()).__module__.rsplit(".", 1)[-1]  # SecretService, macOS, Windows…

    def save_grant(self, connection_id: str, grant: Grant) -> None:
        self._set(f"grant:{connection_id}", grant.to_json())

    def load_grant(self, connection_id: str) -> Grant | None:
        raw = self._get(f"grant:{connection_id}")
        return Grant.from_json(raw) if raw else None

    def save_client_secret(self, platform: str, environment: str, client_id: str, secret: str) -> None:
        self._set(f"client:{platform}:{environment}:{client_id}", secret)

    def load_client_secret(self, platform: str, environment: str, client_id: str) -> str | None:
        return self._get(f"client:{platform}:{environment}:{client_id}")

    def forget(self, connection_id: str) -> None:
        """Remove every trace of a connection (after revoking it at the platform)."""
        self._memory.pop(connection_id, None)
        self._delete(f"grant:{connection_id}")
        self._delete(f"access:{connection_id}")

    def _save_access(self, connection_id: str, token: AccessToken) -> None:
        self._memory[connection_id] = token
        self._set(f"access:{connection_id}",
                  json.dumps({"value": token.value, "expires_at": token.expires_at.isoformat()}))

    def _load_access(self, connection_id: str) -> AccessToken | None:
        raw = self._get(f"access:{connection_id}")
        if not raw:
            return None
        data = json.loads(raw)
        return AccessToken(data["value"], datetime.fromisoformat(data["expires_at"]))

    # --- storing a fresh grant -------------------------------------------------------------
    def store_token_result(self, connection_id: str, result: TokenResult, *,
                           previous: Grant | None = None, grace: timedelta | None = None) -> AccessToken:
        """Persist a token response: the grant first, then the access token."""
        now = self._clock.now()
        hard_expires_at = previous.hard_expires_at if previous else None
        if result.hard_expires_in_s:
            hard_expires_at = now + timedelta(seconds=result.hard_expires_in_s)
        grant = Grant(
            refresh_token=result.refresh_token,
            obtained_at=now,
            refresh_expires_at=(now + timedelta(seconds=result.refresh_expires_in_s)
                                if result.refresh_expires_in_s else None),
            hard_expires_at=hard_expires_at,
            scope=result.scope or (previous.scope if previous else ""),
        )
        if previous is not None and grace is not None and previous.refresh_token != result.refresh_token:
            grant = replace(grant, previous_refresh_token=previous.refresh_token,
                            previous_valid_until=now + grace)
        self.save_grant(connection_id, grant)  # rotated refresh token is safe before anything else
        token = AccessToken(result.access_token, now + timedelta(seconds=result.expires_in_s))
        self._save_access(connection_id, token)
        return token

    # --- the single-flight refresh ---------------------------------------------------------
    def _thread_lock(self, connection_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(connection_id, threading.Lock())

    @contextmanager
    def _exclusive(self, connection_id: str) -> Iterator[None]:
        proc = self._process_lock(connection_id) if self._process_lock else nullcontext()
        with self._thread_lock(connection_id), proc:
            yield

    def access_token(self, connection_id: str, refresher: Refresher, *,
                     skew: timedelta = timedelta(seconds=60), rejected: str | None = None,
                     grace: timedelta | None = None) -> str:
        """A valid access token, refreshing (once, for everyone waiting) when needed.

        Args:
            connection_id: the connection whose token is wanted.
            refresher: performs the platform's refresh call with a refresh token.
            skew: a token this close to expiry counts as expired.
            rejected: the token the API just answered 401 to; it is never returned again.
            grace: how long the platform still accepts the previous refresh token (Xero: 30 min).
        """
        def usable(token: AccessToken | None) -> bool:
            return (token is not None and token.value != rejected
                    and token.valid_at(self._clock.now(), skew))

        cached = self._memory.get(connection_id)
        if usable(cached):
            assert cached is not None
            return cached.value
        with self._exclusive(connection_id):
            # Another thread or process may have refreshed while we waited for the lock.
            for candidate in (self._memory.get(connection_id), self._load_access(connection_id)):
                if usable(candidate):
                    assert candidate is not None
                    self._memory[connection_id] = candidate
                    return candidate.value
            grant = self.load_grant(connection_id)
            if grant is None:
                raise NeedsReconnect("This connection has no stored authorization",
                                     action="reconnect it on the Connections page")
            result = refresher(grant.refresh_token)
            return self.store_token_result(connection_id, result, previous=grant, grace=grace).value
