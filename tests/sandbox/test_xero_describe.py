"""The Xero emulator describes itself: start-up info and the OpenID discovery document."""

from __future__ import annotations

from typing import Any

import requests

from tests.helpers.xero_client import KIWI, TEA


def test_describe_lists_both_xero_organisations(sandbox: Any) -> None:
    info = sandbox.info["xero"]
    assert info["base_url"].endswith("/xero")
    assert info["client_id"] and info["client_secret"] and info["pkce_client_id"]
    assert info["redirect_uri"].startswith("https://")
    tenants = {t["rms_org"]: t for t in info["tenants"]}
    assert tenants["KIWI-NZ"]["tenant_id"] == KIWI and tenants["KIWI-NZ"]["base_currency"] == "NZD"
    assert tenants["TEA-UK"]["tenant_id"] == TEA and tenants["TEA-UK"]["base_currency"] == "GBP"


def test_discovery_document_points_at_the_emulator(sandbox: Any) -> None:
    base = sandbox.info["xero"]["base_url"]
    doc = requests.get(f"{base}/identity/.well-known/openid-configuration", timeout=10).json()
    assert doc["token_endpoint"] == f"{base}/identity/connect/token"
    assert doc["authorization_endpoint"] == f"{base}/identity/connect/authorize"
    assert doc["code_challenge_methods_supported"] == ["S256"]
