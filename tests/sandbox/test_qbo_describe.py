"""The QBO emulator describes itself: start-up info and the OpenID discovery document."""

from __future__ import annotations

from typing import Any

import requests

from tests.helpers.qbo_client import ACME, MAPLE


def test_describe_lists_both_companies_and_client(sandbox: Any) -> None:
    info = sandbox.info["qbo"]
    assert info["base_url"].endswith("/qbo")
    assert {c["realm_id"]: (c["home_currency"], c["rms_org"]) for c in info["companies"]} == {
        ACME: ("USD", "ACME-US"), MAPLE: ("CAD", "MAPLE-CA")}
    assert info["client_id"] and info["client_secret"] and info["redirect_uri"].startswith("https://")


def test_discovery_document_points_at_the_emulator(sandbox: Any) -> None:
    base = sandbox.info["qbo"]["base_url"]
    doc = requests.get(f"{base}/.well-known/openid_configuration", timeout=10).json()
    for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "userinfo_endpoint",
                "jwks_uri", "issuer"):
        assert doc[key].startswith(base), key
    assert "client_secret_basic" in doc["token_endpoint_auth_methods_supported"]
    assert requests.get(doc["jwks_uri"], timeout=10).json() == {"keys": []}
