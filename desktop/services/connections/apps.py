"""The OAuth apps the organization registered with Intuit and Xero (one per platform and environment).

The client id and redirect URI are settings (not secrets); the client secret, when there is
one, lives only in the OS keyring. Xero apps of the "PKCE" kind have no secret at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from desktop.services.auth.platforms import Environment, Platform, auth_facts, environment_label, platform_label
from desktop.services.auth.roles import Action, Actor
from desktop.services.auth.vault import TokenVault
from desktop.services.core.clock import Clock
from desktop.services.core.errors import ConfigurationError
from desktop.services.store.db import Database
from desktop.services.store.models import Setting


@dataclass(frozen=True)
class OAuthApp:
    platform: Platform
    environment: Environment
    client_id: str
    redirect_uri: str
    client_secret: str | None = None   # loaded from the keyring, never stored elsewhere
    sandbox_url: str | None = None     # the emulator root, for the local environment
    loopback_redirect_uri: str | None = None  # registered http://localhost:<port>/callback, if any


def _key(platform: Platform, environment: Environment) -> str:
    return f"oauth_app.{platform.value}.{environment.value}"


class OAuthApps:
    """Read and change the registered OAuth apps."""

    def __init__(self, db: Database, vault: TokenVault, clock: Clock) -> None:
        self._db = db
        self._vault = vault
        self._clock = clock

    def configure(self, actor: Actor, platform: Platform, environment: Environment, *, client_id: str,
                  redirect_uri: str, client_secret: str | None = None, sandbox_url: str | None = None,
                  loopback_redirect_uri: str | None = None) -> None:
        actor.require(Action.MANAGE_CONNECTIONS)
        if auth_facts(platform).needs_client_secret and not client_secret and not self._vault.load_client_secret(
                platform.value, environment.value, client_id):
            raise ConfigurationError(f"A {platform_label(platform)} app needs its client secret",
                                     action="copy it from the Intuit developer portal (Keys & credentials)")
        if client_secret:
            self._vault.save_client_secret(platform.value, environment.value, client_id, client_secret)
        value: dict[str, Any] = {"client_id": client_id, "redirect_uri": redirect_uri, "sandbox_url": sandbox_url,
                                 "loopback_redirect_uri": loopback_redirect_uri}
        key = _key(platform, environment)
        with self._db.write_session() as s:
            row = s.execute(sa.select(Setting).where(Setting.key == key, Setting.organization_id.is_(None))).scalar()
            if row is None:
                s.add(Setting(key=key, value=value, updated_at=self._clock.now(), updated_by=actor.username))
            else:
                row.value = value
                row.updated_at = self._clock.now()
                row.updated_by = actor.username

    def get(self, platform: Platform, environment: Environment) -> OAuthApp:
        key = _key(platform, environment)
        with self._db.session() as s:
            row = s.execute(sa.select(Setting.value).where(Setting.key == key, Setting.organization_id.is_(None))
                            ).scalar()
        if not row:
            raise ConfigurationError(
                f"No {platform_label(platform)} app is set up for {environment_label(environment)}",
                action="enter the app's client id (and secret) under Settings → Ledger apps")
        secret = self._vault.load_client_secret(platform.value, environment.value, row["client_id"])
        return OAuthApp(platform, environment, row["client_id"], row["redirect_uri"], secret, row.get("sandbox_url"),
                        row.get("loopback_redirect_uri"))
