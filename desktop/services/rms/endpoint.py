"""Where the RMS is and whether it answers: the one owner of the RMS endpoint setting.

The RMS API's base URL is a global setting (not secret); its API key lives only in the OS
keyring, under that URL. Connecting (the ``rms connect`` command, the Connections page's RMS
tile, the set-up assistant) first makes a test call — the organizations the key can see — and
saves only what answered, so a typo never replaces a working endpoint. Changing it is an admin's
job (``MANAGE_CONNECTIONS``); anyone may read the status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from desktop.services.auth.roles import Action, Actor
from desktop.services.core.errors import ConfigurationError
from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle, check_transport
from desktop.services.rms.client import RmsClient
from desktop.services.store.models import Setting

if TYPE_CHECKING:
    from desktop.services.auth.vault import TokenVault
    from desktop.services.core.clock import Clock
    from desktop.services.core.events import EventBus
    from desktop.services.store.db import Database

__all__ = ["RMS_SETTING", "RmsEndpoint", "RmsOrganization", "RmsStatus", "stored_base_url"]

#: Global setting holding the RMS API's base URL (not secret); its API key is in the keyring.
RMS_SETTING = "rms.endpoint"
_VAULT_PLATFORM, _VAULT_ENV = "rms", "api"


@dataclass(frozen=True)
class RmsOrganization:
    """One organization the RMS shows this API key."""

    code: str
    name: str
    home_currency: str = ""

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "home_currency": self.home_currency}

    @property
    def text(self) -> str:
        return f"{self.code} — {self.name}" + (f" ({self.home_currency})" if self.home_currency else "")


@dataclass(frozen=True)
class RmsStatus:
    """What is configured: the address, whether its key is in this computer's keyring, who set it."""

    base_url: str | None
    has_key: bool
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.has_key)

    @property
    def state(self) -> str:
        """``connected`` | ``key_missing`` (address set, no key in this keyring) | ``not_connected``."""
        if self.configured:
            return "connected"
        return "key_missing" if self.base_url else "not_connected"

    @property
    def state_text(self) -> str:
        return {"connected": "Connected", "key_missing": "API key missing on this computer",
                "not_connected": "Not connected"}[self.state]

    def as_json(self) -> dict[str, Any]:
        return {"state": self.state, "base_url": self.base_url, "api_key_stored": self.has_key,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "updated_by": self.updated_by}


def stored_base_url(database: Database) -> str | None:
    """The configured RMS address, or None."""
    with database.session() as s:
        value = s.execute(sa.select(Setting.value).where(
            Setting.key == RMS_SETTING, Setting.organization_id.is_(None))).scalar()
    url = value.get("base_url") if isinstance(value, dict) else None
    return url if isinstance(url, str) and url else None


def _test_http() -> LedgerHttp:
    """A test call answers quickly: two attempts, short waits, a 20-second timeout."""
    return LedgerHttp(throttle=Throttle(per_minute=60, concurrent=1), platform="rms", timeout_s=20.0,
                      retry=RetryPolicy(max_attempts=2, base_delay_s=0.5, max_delay_s=2.0))


class RmsEndpoint:
    """Read, test and change the RMS endpoint (see the module docstring).

    ``client`` builds the client a test call uses (tests pass one with a fast retry policy).
    """

    def __init__(self, database: Database, vault: TokenVault, clock: Clock, bus: EventBus | None = None, *,
                 client: Callable[[str, str], RmsClient] | None = None) -> None:
        self._db = database
        self._vault = vault
        self._clock = clock
        self._bus = bus
        self._client = client or (lambda url, key: RmsClient(url, key, http=_test_http()))

    # --- reading ----------------------------------------------------------------------------
    def status(self) -> RmsStatus:
        with self._db.session() as s:
            row = s.execute(sa.select(Setting).where(
                Setting.key == RMS_SETTING, Setting.organization_id.is_(None))).scalar()
            value, at, by = (row.value, row.updated_at, row.updated_by) if row is not None else (None, None, None)
        url = value.get("base_url") if isinstance(value, dict) else None
        url = url if isinstance(url, str) and url else None
        has_key = url is not None and self.api_key(url) is not None
        return RmsStatus(url, has_key, at, by)

    def api_key(self, base_url: str) -> str | None:
        """The stored key for ``base_url`` (services only: never shown, logged or exported)."""
        return self._vault.load_client_secret(_VAULT_PLATFORM, _VAULT_ENV, base_url)

    # --- testing ----------------------------------------------------------------------------
    def check(self, actor: Actor, base_url: str, api_key: str | None = None) -> list[RmsOrganization]:
        """The organizations the RMS at ``base_url`` shows ``api_key`` (None: the stored key); saves nothing."""
        actor.require(Action.VIEW)
        url, key = self._resolve(base_url, api_key)
        raw = self._client(url, key).organizations()
        return [RmsOrganization(str(o.get("code", "")), str(o.get("name", "")), str(o.get("home_currency", "")))
                for o in raw]

    def test(self, actor: Actor) -> list[RmsOrganization]:
        """The test call with what is stored; a :class:`ConfigurationError` if nothing is."""
        status = self.status()
        if status.base_url is None:
            raise ConfigurationError("The returns system (RMS) is not connected",
                                     action="connect it: `returns-ledger rms connect --url URL`, "
                                            "or Connections → Returns system → Edit…")
        return self.check(actor, status.base_url)

    # --- changing ---------------------------------------------------------------------------
    def connect(self, actor: Actor, base_url: str, api_key: str | None = None) -> list[RmsOrganization]:
        """Test ``base_url`` with ``api_key`` (None: keep the stored key), then save both; the organizations seen.

        Nothing is saved if the test call fails.
        """
        actor.require(Action.MANAGE_CONNECTIONS)
        url, key = self._resolve(base_url, api_key)
        orgs = self.check(actor, url, key)
        self.save(actor, url, key)
        if self._bus is not None:
            self._bus.emit("rms.connected", "info",
                           f"Returns system connected at {url}: {len(orgs)} organization"
                           f"{'' if len(orgs) == 1 else 's'} visible", details={"base_url": url})
        return orgs

    def save(self, actor: Actor, base_url: str, api_key: str) -> None:
        """Remember where the RMS is (a setting) and its API key (the OS keyring, never the database)."""
        actor.require(Action.MANAGE_CONNECTIONS)
        check_transport(base_url)
        self._vault.save_client_secret(_VAULT_PLATFORM, _VAULT_ENV, base_url, api_key)
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.execute(sa.select(Setting).where(Setting.key == RMS_SETTING, Setting.organization_id.is_(None))
                            ).scalar()
            if row is None:
                s.add(Setting(key=RMS_SETTING, value={"base_url": base_url}, updated_at=now,
                              updated_by=actor.username))
            else:
                row.value, row.updated_at, row.updated_by = {"base_url": base_url}, now, actor.username

    def _resolve(self, base_url: str, api_key: str | None) -> tuple[str, str]:
        url = base_url.strip().rstrip("/")
        if not url:
            raise ConfigurationError("The RMS address is empty", action="enter the RMS API's address "
                                     "(https://…, as the RMS administrator gives it)")
        if "://" not in url:
            raise ConfigurationError(f"{url!r} is not a web address", action="enter it with https:// in front")
        check_transport(url)
        # No new key: the stored one, only for the address this installation is set up with.
        key = (api_key or "").strip() or (self.api_key(url) if url == stored_base_url(self._db) else None)
        if not key:
            raise ConfigurationError("No RMS API key was given", action="enter the API key the RMS administrator "
                                     "issued (it is kept in this computer's keyring)")
        return url, key
