"""A small QBO client for the emulator tests (plain ``requests``, like the real service is used).

The ``test_qbo_*`` emulator tests use :class:`Qbo`; ``tests/sandbox/test_qbo_describe.py`` checks the
discovery document and the start-up description it relies on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from desktop.sandbox.qbo.util import dumps
from tests.helpers.sandbox import query_params

ACME = "9130350000000001"
MAPLE = "9130350000000002"



class Qbo:
    """Connects through the control API's simulated consent and talks to ``/v3/company/{realm}``."""

    def __init__(self, sandbox: Any, company: str = "ACME-US") -> None:
        self.sandbox = sandbox
        self.info: dict[str, Any] = sandbox.info["qbo"]
        self.base: str = self.info["base_url"]
        self.http = requests.Session()
        redirect = sandbox.control("POST", "authorize", {"service": "qbo", "company": company,
                                                          "state": "s1"})["redirect_url"]
        params = query_params(redirect)
        self.realm = params["realmId"]
        self.tokens = self.exchange(params["code"]).json()
        self.access: str = self.tokens["access_token"]

    @property
    def basic(self) -> tuple[str, str]:
        return (self.info["client_id"], self.info["client_secret"])

    def exchange(self, code: str, redirect_uri: str | None = None) -> requests.Response:
        return self.http.post(f"{self.base}/oauth2/v1/tokens/bearer", auth=self.basic, timeout=10,
                              data={"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": redirect_uri or self.info["redirect_uri"]})

    def refresh(self, token: str) -> requests.Response:
        return self.http.post(f"{self.base}/oauth2/v1/tokens/bearer", auth=self.basic, timeout=10,
                              data={"grant_type": "refresh_token", "refresh_token": token})

    @property
    def api(self) -> str:
        return f"{self.base}/v3/company/{self.realm}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}", "Accept": "application/json"}

    def get(self, path: str, **params: str) -> requests.Response:
        params.setdefault("minorversion", "75")
        return self.http.get(f"{self.api}/{path}", params=params, headers=self.headers(), timeout=10)

    def post(self, path: str, body: Any, **params: str) -> requests.Response:
        params.setdefault("minorversion", "75")
        data = body if isinstance(body, str) else dumps(body)  # Decimal amounts as exact JSON numbers
        return self.http.post(f"{self.api}/{path}", params=params, data=data.encode(), timeout=10,
                              headers=self.headers() | {"Content-Type": "application/json"})

    def query(self, statement: str) -> requests.Response:
        return self.get("query", query=statement)

    def ok(self, resp: requests.Response) -> dict[str, Any]:
        assert resp.status_code == 200, resp.text
        return dict(resp.json(parse_float=Decimal))

    def fault(self, resp: requests.Response, status: int = 400) -> dict[str, Any]:
        assert resp.status_code == status, resp.text
        body = resp.json()
        assert set(body) == {"Fault", "time"}
        error = body["Fault"]["Error"][0]
        assert set(error) == {"Message", "Detail", "code", "element"}
        return dict(error)

    def id_of(self, entity: str, name: str) -> str:
        key = "DisplayName" if entity == "Customer" else "Name"
        statement = f"select * from {entity} where {key} = '{name}'"  # noqa: S608 - QBO query text
        rows = self.ok(self.query(statement))["QueryResponse"][entity]
        return str(rows[0]["Id"])

    def credit_memo(self, number: str, amount: str = "50.00", **extra: Any) -> dict[str, Any]:
        body = {"CustomerRef": {"value": self.id_of("Customer", "Summit Sports Co.")
                                if self.realm == ACME else self.id_of("Customer", "Rideau Paddle Shop")},
                "DocNumber": number, "PrivateNote": f"Return {number}",
                "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal(amount),
                          "SalesItemLineDetail": {"ItemRef": {"value": self.id_of("Item", "Returned Merchandise")},
                                                  "TaxCodeRef": {"value": "NON"} if self.realm == ACME
                                                  else {"value": self.id_of("TaxCode", "GST")}}}]}
        body.update(extra)
        return body
