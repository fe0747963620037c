"""Demo set-up: connect the sandbox's companies the way an admin would, without a browser.

Shared by ``returns-ledger --demo`` and ``returns-ledger demo init``. Given the start-up info of
a running sandbox (``returns-ledger sandbox serve`` prints it), it registers the sandbox's OAuth
apps for the *local* environment, then for each demo company runs the real sign-in flow with the
sandbox's simulated consent (``POST /_sandbox/authorize`` stands in for the person clicking
"Connect"), stores the tokens in the keyring and caches reference data. The sandbox is reached
only over HTTP, like any outside service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from desktop.services.auth.platforms import Environment, Platform, auth_facts
from desktop.services.auth.roles import Action, Actor
from desktop.services.connections.service import ConnectionService, ConnectionSummary
from desktop.services.core.domain import GoodsPosting
from desktop.services.core.errors import TransientError
from desktop.services.platforms.http import check_transport
from desktop.services.platforms.registry import PROFILES, platform_for


@dataclass(frozen=True)
class DemoOrganization:
    code: str        # the organization's code in the RMS
    platform: Platform
    company: str     # realmId / tenantId


def demo_organizations(info: dict[str, Any]) -> list[DemoOrganization]:
    orgs: list[DemoOrganization] = []
    for profile in PROFILES.values():
        listing, id_field = profile.sandbox_listing
        orgs += [DemoOrganization(c["rms_org"], Platform(profile.key), c[id_field])
                 for c in info[profile.key][listing]]
    return orgs


def sandbox_root(info: dict[str, Any]) -> str:
    return str(info["control_url"]).rsplit("/_sandbox", 1)[0]


def simulated_consent(info: dict[str, Any], platform: Platform, authorize_url: str, company: str) -> str:
    """Approve an authorize URL through the sandbox's control API; returns the redirect URL."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    body = {"service": platform.value, "company": company,
            **{k: query[k] for k in ("client_id", "redirect_uri", "scope", "state")}}
    if "code_challenge" in query:
        body["code_challenge"] = query["code_challenge"]
    url = f"{info['control_url']}/authorize"
    check_transport(url)
    resp = requests.post(url, json=body, timeout=30)
    if resp.status_code >= 400:
        raise TransientError(f"The sandbox refused the simulated consent (HTTP {resp.status_code})",
                             platform_message=resp.text[:200])
    return str(resp.json()["redirect_url"])


def configure_local_apps(connections: ConnectionService, actor: Actor, info: dict[str, Any]) -> None:
    root = sandbox_root(info)
    for key in PROFILES:
        platform, app = Platform(key), info[key]
        # A platform that needs a secret gets the sandbox's confidential app; the others its public (PKCE) app.
        creds = ({"client_id": app["client_id"], "client_secret": app["client_secret"]}
                 if auth_facts(platform).needs_client_secret else {"client_id": app["pkce_client_id"]})
        connections.apps.configure(actor, platform, Environment.LOCAL, redirect_uri=app["redirect_uri"],
                                   sandbox_url=root, **creds)


def connect_demo(connections: ConnectionService, actor: Actor, info: dict[str, Any],
                 report: Callable[[str], None] | None = None) -> list[tuple[DemoOrganization, ConnectionSummary]]:
    """Register the sandbox apps and connect every demo company; returns what was connected."""
    say = report or (lambda _m: None)
    configure_local_apps(connections, actor, info)
    done: list[tuple[DemoOrganization, ConnectionSummary]] = []
    for org in demo_organizations(info):
        say(f"Connecting {org.code}…")
        sign_in = connections.begin_sign_in(actor, org.code, org.platform, Environment.LOCAL, tenant_id=(
            org.company if platform_for(org.platform).picks_tenant_after_sign_in else None))
        redirect = simulated_consent(info, org.platform, sign_in.authorize_url, org.company)
        done.append((org, sign_in.complete(redirect, say)))
    return done


def apply_default_mappings(mapping: Any, connections: ConnectionService, actor: Actor,
                           connected: list[tuple[DemoOrganization, ConnectionSummary]],
                           report: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Import each organization's default template; returns ``code → {template, version, problems}``."""
    from desktop.services.queries.setup import apply_default_template
    say = report or (lambda _m: None)
    out: dict[str, dict[str, Any]] = {}
    for org, summary in connected:
        out[org.code] = applied = apply_default_template(mapping, connections, actor, summary)
        if applied["problems"]:
            say(f"{org.code}: the {applied['template']} template needs attention ({len(applied['problems'])} "
                f"problem(s)): {applied['problems'][0]}")
    return out


#: What the demo's admin enters for the Xero organizations, whose API publishes no exchange rates
#: (home-currency units per one foreign unit; the sandbox's Xero uses the same day rates).
DEMO_FX_RATES: dict[str, dict[str, Decimal]] = {
    "KIWI-NZ": {"AUD": Decimal("1.092418")},
    "TEA-UK": {"EUR": Decimal("0.852878"), "JPY": Decimal("0.005251")},
}


def _enter_demo_fx_rates(database: Any, clock: Any, actor: Actor, orgs: list[str]) -> None:
    """Enter :data:`DEMO_FX_RATES` once (valid from a year back), as an admin would in the app."""
    from desktop.services.admin.fx_rates import FxRateSettings
    rates = FxRateSettings(database, clock)
    since = clock.now().date() - timedelta(days=365)
    for org in orgs:
        known = rates.table(org) if org in DEMO_FX_RATES else {}
        for currency, rate in DEMO_FX_RATES.get(org, {}).items():
            if not known.get(currency):
                rates.set(actor, org, currency, since, rate)


#: The demo companies whose ledgers keep inventory untracked: their returned goods post through the
#: goods journal (issue 16's journal path).
GOODS_JOURNAL_ORGS = frozenset({"MAPLE-CA", "TEA-UK"})
#: The demo's inventory-tracking companies: goods back in stock go through the ledger's inventory
#: items (the tracked path, ``pipeline/recipes/tracked.py``); damaged goods are written off by journal.
TRACKED_GOODS_ORGS = frozenset({"ACME-US", "KIWI-NZ"})
#: Every demo company that posts returned goods.
GOODS_ORGS = GOODS_JOURNAL_ORGS | TRACKED_GOODS_ORGS


def _post_returned_goods(database: Any, clock: Any, actor: Actor, orgs: list[str]) -> None:
    """“Returned goods” on for the demo's companies (:data:`GOODS_ORGS`), as an admin would on the
    Settings page (audited), so their previews show the inventory / write-off and cost of goods sold
    lines. Every other organization keeps ``off``."""
    from desktop.services.admin.org_settings import PostingSettings
    settings = PostingSettings(database, clock)
    for org in orgs:
        if org in GOODS_ORGS:
            settings.set(actor, org, "goods_posting", GoodsPosting.JOURNAL)


@dataclass(frozen=True)
class DemoSetUp:
    connected: list[tuple[DemoOrganization, ConnectionSummary]]
    mappings: dict[str, dict[str, Any]]


def set_up_demo(database: Any, bus: Any, clock: Any, vault: Any, connections: ConnectionService, mapping: Any,
                actor: Actor, info: dict[str, Any], report: Callable[[str], None] | None = None) -> DemoSetUp:
    """Everything ``--demo`` and ``demo init`` do against a running sandbox.

    Connect every demo company, remember the sandbox RMS (its API key in the keyring), learn each
    organization's RMS profile, make demo webhook secrets, apply the default mapping templates.
    """
    import secrets

    from desktop.services.rms.client import RmsClient
    from desktop.services.rms.ingest import IngestService
    from desktop.services.runtime import configure_rms, load_webhook_key, save_webhook_key
    actor.require(Action.MANAGE_CONNECTIONS)  # before anything is written
    connected = connect_demo(connections, actor, info, report)
    rms = info["rms"]
    configure_rms(database, vault, clock, actor, rms["base_url"], rms["api_key"])
    for platform in PROFILES:  # the demo's own webhook secrets, for `worker --webhook-port`
        if load_webhook_key(vault, platform) is None:
            save_webhook_key(vault, platform, secrets.token_urlsafe(32))
    IngestService(database, bus, clock).ensure_organizations(RmsClient(rms["base_url"], rms["api_key"]))
    _enter_demo_fx_rates(database, clock, actor, [org.code for org, _summary in connected])
    _post_returned_goods(database, clock, actor, [org.code for org, _summary in connected])
    return DemoSetUp(connected, apply_default_mappings(mapping, connections, actor, connected, report))
