"""Where each platform's OAuth and API endpoints are, per environment.

Environments:
- ``production``: the real Intuit / Xero services (HTTPS only).
- ``development`` (QBO only): Intuit's sandbox companies — same OAuth endpoints, the sandbox
  API host; development keys may use ``http://localhost`` redirect URIs.
- ``local``: our emulators (``desktop/sandbox``) at a loopback base URL, for the demo and tests.

Endpoint addresses are from API_FACTS.md §1 and §7.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.services.core.enums import LedgerEnvironment, Platform
from desktop.services.core.errors import ConfigurationError
from desktop.services.platforms.registry import platform_for

# One vocabulary with the database: these are the values stored on ledger connections.
Environment = LedgerEnvironment

_ENVIRONMENT_LABELS = {Environment.PRODUCTION: "Production", Environment.DEVELOPMENT: "Intuit Development",
                       Environment.LOCAL: "Local sandbox"}


def platform_label(platform: Platform) -> str:
    """The platform's name as people know it (the profile's ``display_name``)."""
    return platform_for(platform).display_name


@dataclass(frozen=True)
class AuthFacts:
    """How a platform's OAuth differs, so the OAuth client never asks which platform it is."""

    needs_client_secret: bool      # QBO: confidential apps only
    uses_pkce: bool                # Xero: public (PKCE) apps
    company_on_redirect: bool      # QBO names the chosen company (realmId) on the redirect
    reports_hard_expiry: bool      # QBO: ask for x_refresh_token_hard_expires_in
    refresh_life_s: int | None     # a refresh token's life when the platform does not say (Xero: 60 days)
    revoke_as_json: bool           # QBO revokes with a JSON body and Basic auth; Xero with a form
    has_development: bool          # a separate development environment (QBO: Intuit's sandbox companies)


_AUTH_FACTS = {
    Platform.QBO: AuthFacts(needs_client_secret=True, uses_pkce=False, company_on_redirect=True,
                            reports_hard_expiry=True, refresh_life_s=None, revoke_as_json=True,
                            has_development=True),
    # API_FACTS §7: Xero's documented rule is 60 days from the token's last use.
    Platform.XERO: AuthFacts(needs_client_secret=False, uses_pkce=True, company_on_redirect=False,
                             reports_hard_expiry=False, refresh_life_s=60 * 86400, revoke_as_json=False,
                             has_development=False),
}


def auth_facts(platform: Platform) -> AuthFacts:
    return _AUTH_FACTS[platform]


def environment_label(environment: Environment) -> str:
    return _ENVIRONMENT_LABELS[environment]


QBO_SCOPES = ("com.intuit.quickbooks.accounting",)
# Broad scopes; apps created on or after 2026-03-02 must ask for granular ones instead
# (API_FACTS §7, names UNCONFIRMED) — hence a per-connection choice with this as the default.
XERO_SCOPES_BROAD = ("offline_access", "accounting.transactions", "accounting.settings",
                     "accounting.contacts")
XERO_SCOPES_GRANULAR = ("offline_access", "accounting.invoices", "accounting.payments",
                        "accounting.manualjournals", "accounting.settings", "accounting.contacts")


@dataclass(frozen=True)
class Endpoints:
    """Every address one platform environment needs."""

    platform: Platform
    environment: Environment
    authorize_url: str
    token_url: str
    revoke_url: str
    api_base_url: str            # QBO: …/v3/company  Xero: …/api.xro/2.0
    connections_url: str | None  # Xero only
    scopes: tuple[str, ...]


def endpoints(platform: Platform, environment: Environment, *, sandbox_url: str | None = None,
              granular_scopes: bool = False) -> Endpoints:
    """The endpoints for a platform environment; ``sandbox_url`` is the emulator root for ``local``."""
    if environment is Environment.LOCAL:
        if not sandbox_url:
            raise ConfigurationError("The local sandbox environment needs the sandbox's address",
                                     action="start `returns-ledger sandbox serve` and give its URL")
        root = sandbox_url.rstrip("/")
        if platform is Platform.QBO:
            return Endpoints(platform, environment, f"{root}/qbo/connect/oauth2",
                             f"{root}/qbo/oauth2/v1/tokens/bearer", f"{root}/qbo/v2/oauth2/tokens/revoke",
                             f"{root}/qbo/v3/company", None, QBO_SCOPES)
        return Endpoints(platform, environment, f"{root}/xero/identity/connect/authorize",
                         f"{root}/xero/identity/connect/token", f"{root}/xero/identity/connect/revocation",
                         f"{root}/xero/api.xro/2.0", f"{root}/xero/connections",
                         XERO_SCOPES_GRANULAR if granular_scopes else XERO_SCOPES_BROAD)
    if platform is Platform.QBO:
        api = ("https://quickbooks.api.intuit.com/v3/company" if environment is Environment.PRODUCTION
               else "https://sandbox-quickbooks.api.intuit.com/v3/company")
        return Endpoints(platform, environment, "https://appcenter.intuit.com/connect/oauth2",
                         "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
                         "https://developer.api.intuit.com/v2/oauth2/tokens/revoke", api, None, QBO_SCOPES)
    if environment is Environment.DEVELOPMENT:
        raise ConfigurationError("Xero has no separate development environment",
                                 action="use Production with a Xero Demo Company")
    return Endpoints(platform, environment, "https://login.xero.com/identity/connect/authorize",
                     "https://identity.xero.com/connect/token", "https://identity.xero.com/connect/revocation",
                     "https://api.xero.com/api.xro/2.0", "https://api.xero.com/connections",
                     XERO_SCOPES_GRANULAR if granular_scopes else XERO_SCOPES_BROAD)
