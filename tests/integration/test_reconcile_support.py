"""Shared plumbing for the reconciliation tests (no tests here).

A :class:`ReconWorld` is a real database (SQLite file or PostgreSQL), the real keyring and the
sandbox over real HTTP, with both demo ledgers connected through the real sign-in flow. Documents
are created in the emulated ledger through the control API with our key in their memo — what the
poster would have sent — and recorded as posted in ``outbox_documents`` with their return.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Environment, Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import SystemClock
from desktop.services.core.events import Event, EventBus
from desktop.services.core.keys import idempotency_key, memo_text
from desktop.services.core.money import Money
from desktop.services.demo import configure_local_apps, demo_organizations, simulated_consent
from desktop.services.reconcile.model import Period
from desktop.services.reconcile.service import ReconcileService
from desktop.services.runtime import connection_service
from desktop.services.store.coltypes import json_dumps_exact
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    LedgerConnection,
    Organization,
    OutboxDocument,
    OutboxStatus,
    RefundMethod,
    Return,
    ReturnSyncStatus,
)
from desktop.services.store.models import Platform as StorePlatform
from tests.sandbox.conftest import SandboxHandle

ADMIN = Actor("alice", Role.ADMIN)
QBO_ORG, XERO_ORG = "ACME-US", "KIWI-NZ"
MEMO_FIELD = {"CreditMemo": "PrivateNote", "JournalEntry": "PrivateNote", "CreditNote": "Reference",
              "Payment": "Reference", "ManualJournal": "Narration"}


def month_of(day: date) -> Period:
    start = day.replace(day=1)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return Period(start, nxt - timedelta(days=1))


class ReconWorld:
    def __init__(self, db_url: str, sandbox: SandboxHandle, data_dir: Path) -> None:
        upgrade(db_url)
        self.sandbox = sandbox
        self.db = Database(db_url)
        self.clock = SystemClock()
        self.bus = EventBus(self.clock)
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.vault, self.connections = connection_service(self.db, self.bus, self.clock, data_dir)
        configure_local_apps(self.connections, ADMIN, sandbox.info)
        self.service = ReconcileService(self.db, self.bus, self.clock, self.connections)
        self.today = self.clock.now().date()
        self.period = month_of(self.today)
        self._n = 0

    def connect(self, org_code: str) -> None:
        org = next(o for o in demo_organizations(self.sandbox.info) if o.code == org_code)
        sign_in = self.connections.begin_sign_in(
            ADMIN, org.code, org.platform, Environment.LOCAL, refresh_reference=False,
            tenant_id=org.company if org.platform is Platform.XERO else None)
        sign_in.complete(simulated_consent(self.sandbox.info, org.platform, sign_in.authorize_url, org.company))

    def connector(self, org_code: str) -> Any:
        with self.db.session() as s:
            cid = s.execute(sa.select(LedgerConnection.id).join(Organization)
                            .where(Organization.code == org_code)).scalar_one()
        return self.connections.connector(cid)

    def tamper(self, org_code: str, body: dict[str, Any]) -> dict[str, Any]:
        platform = "qbo" if org_code == QBO_ORG else "xero"
        resp = self.sandbox.http.post(f"{self.sandbox.control_url}/ledger/{platform}/{org_code}/tamper",
                                      data=json_dumps_exact(body), headers={"Content-Type": "application/json"},
                                      timeout=30)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json(parse_float=Decimal)
        return result

    def add_return(self, org_code: str, rms_id: str, rma: str, total: Decimal, currency: str) -> int:
        now = self.clock.now()
        with self.db.write_session() as s:
            org = s.execute(sa.select(Organization).where(Organization.code == org_code)).scalar_one()
            row = Return(organization_id=org.id, rms_id=rms_id, revision=1, rma_number=rma, currency=currency,
                         refund_method=RefundMethod.STORE_CREDIT, rms_status="refunded",
                         sync_status=ReturnSyncStatus.POSTED,
                         refund_total_minor=Money(total, currency).to_minor_units(),
                         rms_created_at=now, rms_updated_at=now, ingested_at=now, updated_at=now, raw_payload={})
            s.add(row)
            s.flush()
            return row.id

    def post(self, org_code: str, doc_type: str, document: dict[str, Any], *, role: str = "credit_memo",
             return_id: int | None = None, rma: str | None = None, record: bool = True) -> tuple[str, str, int | None]:
        """Create ``document`` in the ledger carrying a key of ours; record it as posted unless ``record``
        is False (an orphan). Returns (key, remote id, return id)."""
        self._n += 1
        rms_id = f"R-{org_code}-{self._n}"
        rma = rma or f"RMA-{org_code}-{self._n}"
        key = idempotency_key(org_code, rms_id, 1, role)
        document = {**document, MEMO_FIELD[doc_type]: memo_text(key, rma, 1)}
        created = self.tamper(org_code, {"op": "create", "type": doc_type, "document": document})
        if not record:
            return key, str(created["id"]), None
        platform = "qbo" if org_code == QBO_ORG else "xero"
        currency = created["currency"] or ("USD" if platform == "qbo" else "NZD")
        total = Money(Decimal(created["total"]), currency)
        if return_id is None:
            return_id = self.add_return(org_code, rms_id, rma, total.amount, currency)
        now = self.clock.now()
        with self.db.write_session() as s:
            org = s.execute(sa.select(Organization).where(Organization.code == org_code)).scalar_one()
            conn = s.execute(sa.select(LedgerConnection).where(LedgerConnection.organization_id == org.id)
                             ).scalar_one()
            s.add(OutboxDocument(
                organization_id=org.id, connection_id=conn.id, idempotency_key=key, return_id=return_id,
                role=role, platform=StorePlatform(platform), doc_type=doc_type,
                txn_date=date.fromisoformat(created["date"]), total_minor=total.to_minor_units(),
                currency=currency, payload=document, status=OutboxStatus.POSTED, attempts=1,
                remote_id=created["id"], remote_number=created["number"],
                sync_token=created["raw"].get("SyncToken"), created_at=now, updated_at=now, posted_at=now))
        return key, str(created["id"]), return_id

    def close(self) -> None:
        with self.db.session() as s:
            refs = list(s.execute(sa.select(LedgerConnection.credential_ref)).scalars())
        for ref in refs:
            self.vault.forget(ref)
        self.db.dispose()


@pytest.fixture(name="recon")
def recon_fixture(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[ReconWorld]:
    w = ReconWorld(db_url, sandbox, tmp_path)
    try:
        yield w
    finally:
        w.close()


def qbo_memo(world: ReconWorld, amount: str = "40.00") -> dict[str, Any]:
    connector = world.connector(QBO_ORG)
    customer = next(c for c in connector.query_all("Customer")
                    if (c.get("CurrencyRef") or {}).get("value", "USD") == "USD")["Id"]
    item = next(i for i in connector.query_all("Item") if i.get("Type") == "Service")["Id"]
    return {"CustomerRef": {"value": customer}, "TxnDate": world.today.isoformat(),
            "Line": [{"Amount": Decimal(amount), "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": Decimal(amount),
                                              "TaxCodeRef": {"value": "NON"}}}]}


def qbo_journal(world: ReconWorld, amount: str = "12.50") -> dict[str, Any]:
    rows = world.connector(QBO_ORG).query_all("Account")
    expense = next(r["Id"] for r in rows if r.get("AccountType") == "Expense")
    income = next(r["Id"] for r in rows if r.get("AccountType") == "Income")
    return {"TxnDate": world.today.isoformat(), "Line": [
        {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(amount), "Description": "Restocking fee",
         "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": expense}}},
        {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(amount), "Description": "Fee income",
         "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": income}}}]}


def xero_refs(world: ReconWorld) -> dict[str, str]:
    connector = world.connector(XERO_ORG)
    accounts = connector._get("Accounts")["Accounts"]
    return {"revenue": next(a["Code"] for a in accounts if a["Type"] in ("REVENUE", "SALES")),
            "expense": next(a["Code"] for a in accounts if a["Type"] in ("EXPENSE", "DIRECTCOSTS")),
            "bank": next(a["Code"] for a in accounts if a["Type"] == "BANK"),
            "contact": connector._get("Contacts", {"page": "1"})["Contacts"][0]["ContactID"]}


def xero_note(world: ReconWorld, refs: dict[str, str], amount: str = "50.00") -> dict[str, Any]:
    return {"Type": "ACCRECCREDIT", "Contact": {"ContactID": refs["contact"]}, "Status": "AUTHORISED",
            "Date": world.today.isoformat(), "LineAmountTypes": "NoTax", "CurrencyCode": "NZD",
            "LineItems": [{"Description": "Returned goods", "Quantity": Decimal(1), "UnitAmount": Decimal(amount),
                           "LineAmount": Decimal(amount), "AccountCode": refs["revenue"], "TaxType": "NONE"}]}


def xero_journal(world: ReconWorld, refs: dict[str, str], amount: str = "12.50") -> dict[str, Any]:
    return {"Narration": "", "Date": world.today.isoformat(), "Status": "POSTED", "LineAmountTypes": "NoTax",
            "JournalLines": [{"LineAmount": Decimal(amount), "AccountCode": refs["expense"], "Description": "Fee"},
                             {"LineAmount": -Decimal(amount), "AccountCode": refs["revenue"], "Description": "Fee"}]}


def xero_payment(world: ReconWorld, refs: dict[str, str], note_id: str, amount: str = "50.00") -> dict[str, Any]:
    return {"CreditNote": {"CreditNoteID": note_id}, "Account": {"Code": refs["bank"]},
            "Date": world.today.isoformat(), "Amount": Decimal(amount)}
