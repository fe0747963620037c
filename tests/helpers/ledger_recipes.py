"""Posting one return's recipe documents straight through the app's platform connector (no outbox),
and reconciling what the ledger then holds against them — for tests that need field-level
assertions on the sandbox ledgers without the whole sync around them.

Placeholders are filled the way the poster fills them (customers and items created on demand by
the platform, dependencies' remote ids), bodies are the platforms' own entities
(``profile.entity_of``), and the reconciliation is the app's own :func:`compare` over the ledger's
documents read back by :class:`LedgerReader`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from desktop.services.auth.platforms import Platform
from desktop.services.core.domain import ReturnRecord
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.documents import CUSTOMER, LedgerDocument, fill, placeholders
from desktop.services.platforms.base import decode_json
from desktop.services.platforms.registry import platform_for
from desktop.services.platforms.shapes import PostRequest, RemoteDoc
from desktop.services.reconcile.compare import CompareResult, compare
from desktop.services.reconcile.ledger_read import LedgerReader
from desktop.services.reconcile.model import Expected, Period
from tests.helpers.sandbox import DEMO_COMPANIES, SandboxHandle, memory_connection


@dataclass
class SandboxLedger:
    """One sandbox company, signed in with the app's connector, and its reference snapshot."""

    platform: Platform
    connector: Any
    snapshot: ReferenceSnapshot
    http: Any
    base: str
    company: str

    def create_account(self, name: str, code: str, kind: str, *, payments: bool = False) -> str:
        """What an accountant does in the ledger before mapping it: a new account (``kind`` in the
        platform's own words); its id, the snapshot refreshed."""
        rid = NEW_ACCOUNT[self.platform](self, name, code, kind, payments)
        self.refresh()
        return rid

    def refresh(self) -> None:
        self.snapshot = ReferenceSnapshot.from_reference_data(
            self.platform.value, self.connector.reference_data(), self.connector.company_info())


def _qbo_account(ledger: SandboxLedger, name: str, code: str, kind: str, payments: bool) -> str:
    resp = ledger.http.request("POST", f"{ledger.base}/{ledger.company}/account", params={"minorversion": "75"},
                               json={"Name": name, "AccountType": kind}, headers={"Accept": "application/json"})
    assert resp.status_code == 200, resp.text
    return str(decode_json(resp)["Account"]["Id"])


def _xero_account(ledger: SandboxLedger, name: str, code: str, kind: str, payments: bool) -> str:
    body = {"Code": code, "Name": name, "Type": kind, "EnablePaymentsToAccount": payments}
    resp = ledger.http.request("PUT", f"{ledger.base}/Accounts", json=body,
                               headers={"Accept": "application/json", "xero-tenant-id": ledger.company})
    assert resp.status_code == 200, resp.text
    return str(decode_json(resp)["Accounts"][0]["AccountID"])


#: How an accountant makes an account in each ledger (the app itself never creates accounts).
NEW_ACCOUNT: dict[Platform, Callable[[SandboxLedger, str, str, str, bool], str]] = {
    Platform.QBO: _qbo_account, Platform.XERO: _xero_account}


def connect_ledger(sandbox: SandboxHandle, org: str) -> SandboxLedger:
    """The demo organization ``org``'s ledger company, signed in with the app's connector."""
    platform, company = DEMO_COMPANIES[org]
    conn = memory_connection(sandbox.info, platform, company)
    connector = platform_for(platform.value).connect(conn.http, conn.base, company)  # the app's LedgerPlatform
    ledger = SandboxLedger(platform, connector, None, conn.http, conn.base, company)  # type: ignore[arg-type]
    ledger.refresh()
    return ledger


def post_documents(ledger: SandboxLedger, ret: ReturnRecord, docs: list[LedgerDocument]) -> dict[str, RemoteDoc]:
    """Post ``docs`` in order, one request each, filling placeholders like the poster; by key."""
    conn = ledger.connector
    values: dict[str, str] = {}
    out: dict[str, RemoteDoc] = {}
    for doc in docs:
        body = conn.profile.entity_of(doc.doc_type, doc.payload)
        for name in sorted(placeholders(body)):
            if name in values:
                continue
            if name == CUSTOMER:
                who = ret.customer
                ids = conn.ensure_customers([(who.name, who.email, ret.currency)])
                got = ids[conn.customer_key(who.name, ret.currency)]
                assert isinstance(got, str), got
                values[name] = got
            elif name.startswith("item-for-account:"):
                values[name] = conn.ensure_item(name[len("item-for-account:"):])
        [result] = conn.post_batch([PostRequest(doc.idempotency_key, doc.doc_type, fill(body, values))],
                                   [doc.idempotency_key])
        assert result.remote is not None, (result.error, getattr(result.error, "platform_message", None))
        out[doc.idempotency_key] = result.remote
        values[f"id:{doc.idempotency_key}"] = result.remote.remote_id
    return out


def reconcile_posted(ledger: SandboxLedger, docs: list[LedgerDocument], posted: dict[str, RemoteDoc],
                     day: date) -> CompareResult:
    """The app's comparison of ``docs`` (as posted) with what the ledger holds on ``day``, keeping
    only the ledger's documents that are ours and of these documents (the sandbox holds others)."""
    reader = LedgerReader(ledger.connector)
    mine = {d.idempotency_key for d in docs}
    held = [d for d in reader.period(Period(day, day)) if d.our_key in mine]
    expected = [Expected(d.idempotency_key, d.doc_type, d.role, "posted", d.total.amount, d.currency, d.txn_date,
                         posted[d.idempotency_key].remote_id) for d in docs]
    return compare(expected, held, Period(day, day), home_currency=ledger.snapshot.home_currency)
