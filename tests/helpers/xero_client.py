"""A small Xero client for the emulator tests (plain ``requests``, as the real API is used).

The ``test_xero_*`` emulator tests use :class:`Xero`; ``tests/sandbox/test_xero_describe.py`` checks
the start-up description and discovery document it relies on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from decimal import Decimal
from typing import Any

import requests

from tests.helpers.sandbox import query_params

KIWI = "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01"
TEA = "0b7e2d94-51c3-4f8a-a6d2-8c4e1f7b3a02"
SCOPE = "openid profile email offline_access accounting.transactions accounting.settings accounting.contacts"



def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def loads(resp: requests.Response) -> Any:
    return json.loads(resp.text, parse_float=Decimal)


class Xero:
    """Connects a confidential client through simulated consent and calls ``/api.xro/2.0``."""

    def __init__(self, sandbox: Any, company: str = "KIWI-NZ", scope: str = SCOPE) -> None:
        self.sandbox = sandbox
        self.info: dict[str, Any] = sandbox.info["xero"]
        self.base: str = self.info["base_url"]
        self.http = requests.Session()
        redirect = sandbox.control(
            "POST", "authorize", {"service": "xero", "company": company, "state": "s1", "scope": scope}
        )["redirect_url"]
        self.tenant = KIWI if company in ("KIWI-NZ", KIWI) else TEA
        resp = self.token(
            {
                "grant_type": "authorization_code",
                "code": query_params(redirect)["code"],
                "redirect_uri": self.info["redirect_uri"],
            }
        )
        assert resp.status_code == 200, resp.text
        self.tokens: dict[str, Any] = resp.json()

    def token(self, form: dict[str, str]) -> requests.Response:
        return self.http.post(
            f"{self.base}/identity/connect/token",
            data=form,
            timeout=10,
            auth=(self.info["client_id"], self.info["client_secret"]),
        )

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        tenant: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        hdrs = {
            "Authorization": f"Bearer {self.tokens['access_token']}",
            "Accept": "application/json",
            "xero-tenant-id": tenant or self.tenant,
            **(headers or {}),
        }
        data = None
        if body is not None:
            hdrs["Content-Type"] = "application/json"
            data = json.dumps(body, default=str)
        return self.http.request(
            method, f"{self.base}/api.xro/2.0/{path.lstrip('/')}", data=data, headers=hdrs, params=params, timeout=15
        )

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        resp = self.call(method, path, body, **kw)
        assert resp.status_code == 200, f"{method} {path}: {resp.status_code} {resp.text}"
        return dict(loads(resp))

    def contact_id(self, index: int = 0) -> str:
        return str(self.ok("GET", "Contacts")["Contacts"][index]["ContactID"])

    def credit_note(self, **over: Any) -> dict[str, Any]:
        """Create one approved customer credit note (50.00 + tax) and return it."""
        cn = {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": self.contact_id()},
            "Status": "AUTHORISED",
            "LineAmountTypes": "Exclusive",
            "Reference": "RMA-1001",
            "LineItems": [
                {
                    "Description": "Returned helmet",
                    "Quantity": 1,
                    "UnitAmount": "50.00",
                    "AccountCode": "200",
                    "TaxType": "OUTPUT2",
                }
            ],
            **over,
        }
        body = self.ok("PUT", "CreditNotes", {"CreditNotes": [cn]}, params={"summarizeErrors": "false"})
        return dict(body["CreditNotes"][0])
