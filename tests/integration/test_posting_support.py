"""Shared plumbing for the outbox/posting/engine tests (no tests here).

A :class:`PostWorld` is a real database (SQLite file or PostgreSQL), the real keyring, and the
sandbox over real HTTP, with ledgers connected through the real sign-in flow; documents are built
by hand with real QBO / Xero payloads (API_FACTS §2, §8) and keys from ``sync.keys``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Environment, Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.auth.signin import SignIn
from desktop.services.auth.vault import TokenVault
from desktop.services.connections.apps import OAuthApps
from desktop.services.connections.service import ConnectionService
from desktop.services.core import keys
from desktop.services.core.clock import SystemClock
from desktop.services.core.events import Event, EventBus
from desktop.services.core.money import Money
from desktop.services.pipeline import outbox
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.poster import Poster
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import LedgerConnection, Organization, OutboxDocument
from tests.sandbox.conftest import SandboxHandle

ADMIN = Actor("alice", Role.ADMIN)
QBO_ORG, XERO_ORG = "ACME-US", "KIWI-NZ"


class PostWorld:
    def __init__(self, db_url: str, sandbox: SandboxHandle) -> None:
        upgrade(db_url)
        self.db = Database(db_url)
        self.clock = SystemClock()
        self.bus = EventBus(self.clock)
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.vault = TokenVault(self.clock)
        self.sandbox = sandbox
        self.apps = OAuthApps(self.db, self.vault, self.clock)
        self.connections = ConnectionService(self.db, self.vault, self.bus, self.clock, self.apps)
        root = sandbox.control_url.rsplit("/_sandbox", 1)[0]
        qbo, xero = sandbox.info["qbo"], sandbox.info["xero"]
        self.apps.configure(ADMIN, Platform.QBO, Environment.LOCAL, client_id=qbo["client_id"],
                            client_secret=qbo["client_secret"], redirect_uri=qbo["redirect_uri"], sandbox_url=root)
        self.apps.configure(ADMIN, Platform.XERO, Environment.LOCAL, client_id=xero["pkce_client_id"],
                            redirect_uri=xero["redirect_uri"], sandbox_url=root)

    def _consent(self, sign_in: SignIn[Any], platform: Platform, company: str) -> str:
        q = {k: v[0] for k, v in parse_qs(urlsplit(sign_in.authorize_url).query).items()}
        body = {"service": platform.value, "company": company,
                **{k: q[k] for k in ("client_id", "redirect_uri", "scope", "state")}}
        if "code_challenge" in q:
            body["code_challenge"] = q["code_challenge"]
        return str(self.sandbox.control("POST", "authorize", body)["redirect_url"])

    def connect(self, platform: Platform) -> int:
        """Connect the first sandbox company of ``platform``; returns the connection id."""
        info = self.sandbox.info[platform.value]
        if platform is Platform.QBO:
            org, company = QBO_ORG, info["companies"][0]["realm_id"]
        else:
            org, company = XERO_ORG, info["tenants"][0]["tenant_id"]
        sign_in = self.connections.begin_sign_in(ADMIN, org, platform, Environment.LOCAL)
        return sign_in.complete(self._consent(sign_in, platform, company)).id

    def org_id(self, connection_id: int) -> int:
        with self.db.session() as s:
            conn = s.get(LedgerConnection, connection_id)
            assert conn is not None
            return conn.organization_id

    def org_code(self, connection_id: int) -> str:
        with self.db.session() as s:
            return str(s.scalar(sa.select(Organization.code).join(LedgerConnection)
                                .where(LedgerConnection.id == connection_id)))

    def poster(self, **kw: Any) -> Poster:
        return Poster(self.db, self.bus, self.clock, self.connections, **kw)

    def enqueue(self, connection_id: int, docs: list[LedgerDocument], return_id: int | None = None) -> list[str]:
        with self.db.write_session() as s:
            return outbox.enqueue(s, docs, self.org_id(connection_id), connection_id, return_id,
                                  now=self.clock.now())

    def ledger(self, platform: str, company: str) -> list[dict[str, Any]]:
        return list(self.sandbox.control("GET", f"ledger/{platform}/{company}")["documents"])

    def ledger_with(self, platform: str, company: str, key: str) -> list[dict[str, Any]]:
        return [d for d in self.ledger(platform, company) if key in str(d.get("reference") or d.get("raw"))]

    def rows(self) -> dict[str, OutboxDocument]:
        with self.db.session() as s:
            return {r.idempotency_key: r for r in s.scalars(sa.select(OutboxDocument))}

    def statuses(self) -> dict[str, int]:
        with self.db.session() as s:
            return {k: v for k, v in outbox.counts(s).items() if v}

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def close(self) -> None:
        with self.db.session() as s:
            refs = list(s.execute(sa.select(LedgerConnection.credential_ref)).scalars())
        for ref in refs:
            self.vault.forget(ref)
        self.db.dispose()


@pytest.fixture(name="world")
def world_fixture(db_url: str, sandbox: SandboxHandle) -> Iterator[PostWorld]:
    w = PostWorld(db_url, sandbox)
    yield w
    w.close()


def today() -> date:
    return SystemClock().now().date()


def key_for(tag: str, n: int, role: str = "fee_journal") -> str:
    return keys.idempotency_key("TEST", f"{tag}-{n}", 1, role)


def _doc(platform: str, doc_type: str, key: str, role: str, payload: dict[str, Any], amount: Decimal,
         currency: str, depends_on: str | None = None) -> LedgerDocument:
    return LedgerDocument(role=role, platform=platform, doc_type=doc_type, idempotency_key=key, txn_date=today(),
                          currency=currency, total=Money(amount, currency), payload=payload, journal=(),
                          source=("TEST", key, 1), mapping_version=1, home_currency=currency, depends_on=depends_on)


def qbo_accounts(world: PostWorld, connection_id: int) -> tuple[str, str]:
    """(expense account id, income account id) of the QBO company."""
    rows = world.connections.connector(connection_id).query_all("Account")  # type: ignore[attr-defined]
    expense = next(r["Id"] for r in rows if r.get("AccountType") == "Expense")
    income = next(r["Id"] for r in rows if r.get("AccountType") == "Income")
    return str(expense), str(income)


def qbo_journal(n: int, accounts: tuple[str, str], *, amount: str = "12.34", credit: str | None = None,
                tag: str = "je") -> LedgerDocument:
    key = key_for(tag, n)
    debit_acct, credit_acct = accounts
    payload = {
        "TxnDate": today().isoformat(), "DocNumber": keys.doc_number(f"RMA-{tag}-{n}", 1, "fee_journal"),
        "PrivateNote": keys.memo_text(key, f"RMA-{tag}-{n}", 1, "restocking fee"),
        "Line": [
            {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(amount), "Description": "Restocking fee",
             "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": debit_acct}}},
            {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(credit or amount), "Description": "Fee income",
             "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": credit_acct}}},
        ],
    }
    return _doc("qbo", "JournalEntry", key, "fee_journal", payload, Decimal(amount), "USD")


def qbo_journals(world: PostWorld, connection_id: int, count: int, tag: str = "je") -> list[LedgerDocument]:
    accounts = qbo_accounts(world, connection_id)
    return [qbo_journal(n, accounts, tag=tag) for n in range(count)]


def xero_journals(world: PostWorld, connection_id: int, count: int, tag: str = "mj") -> list[LedgerDocument]:
    codes = xero_codes(world, connection_id)
    return [xero_journal(n, codes, tag=tag) for n in range(count)]


def xero_codes(world: PostWorld, connection_id: int) -> dict[str, str]:
    """Account codes by Xero type (first of each: EXPENSE, REVENUE, BANK, …)."""
    from desktop.services.platforms.base import RefKind
    accounts = world.connections.connector(connection_id).reference_data([RefKind.ACCOUNT])[RefKind.ACCOUNT]
    out: dict[str, str] = {}
    for a in accounts:
        if a.code and a.active and a.type:
            out.setdefault(a.type, a.code)
    return out


def xero_journal(n: int, codes: dict[str, str], *, amount: str = "12.34", credit: str | None = None,
                 tag: str = "mj") -> LedgerDocument:
    key = key_for(tag, n)
    payload = {"ManualJournals": [{
        "Narration": keys.memo_text(key, f"RMA-{tag}-{n}", 1, "restocking fee"), "Date": today().isoformat(),
        "Status": "POSTED", "LineAmountTypes": "NoTax",
        "JournalLines": [
            {"LineAmount": Decimal(amount), "AccountCode": codes["EXPENSE"], "Description": "Restocking fee"},
            {"LineAmount": -Decimal(credit or amount), "AccountCode": codes["REVENUE"], "Description": "Fee income"},
        ]}]}
    return _doc("xero", "ManualJournal", key, "fee_journal", payload, Decimal(amount), "NZD")


def xero_refund(n: int, codes: dict[str, str], amount: str = "50.00") -> tuple[LedgerDocument, LedgerDocument]:
    """A CreditNote and the refund Payment that depends on it (its id filled in by the poster)."""
    cn_key, pay_key = key_for("cn", n, "credit_note"), key_for("cn", n, "refund_payment")
    note = {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"Name": f"Test Customer {n}"}, "Date": today().isoformat(),
        "Status": "AUTHORISED", "LineAmountTypes": "NoTax", "CurrencyCode": "NZD",
        "Reference": keys.memo_text(cn_key, f"RMA-cn-{n}", 1),
        "LineItems": [{"Description": "Returned widget", "Quantity": Decimal(1), "UnitAmount": Decimal(amount),
                       "AccountCode": codes["REVENUE"]}]}]}
    pay = {"Payments": [{
        "CreditNote": {"CreditNoteID": "${id:" + cn_key + "}"}, "Account": {"Code": codes["BANK"]},
        "Date": today().isoformat(), "Amount": Decimal(amount),
        "Reference": keys.memo_text(pay_key, f"RMA-cn-{n}", 1, "refund")}]}
    return (_doc("xero", "CreditNote", cn_key, "credit_note", note, Decimal(amount), "NZD"),
            _doc("xero", "Payment", pay_key, "refund_payment", pay, Decimal(amount), "NZD", depends_on=cn_key))


def post_in_subprocess(db_url: str, connection_id: int, worker_id: str) -> None:
    """What a second worker process does: its own services over the shared database and keyring."""
    import json

    from desktop.services.auth.locks import PostgresAdvisoryLock
    db = Database(db_url)
    clock = SystemClock()
    vault = TokenVault(clock, process_lock=PostgresAdvisoryLock(db.engine))
    bus = EventBus(clock)
    connections = ConnectionService(db, vault, bus, clock, OAuthApps(db, vault, clock))
    result = Poster(db, bus, clock, connections).post_pending(connection_id, worker_id=worker_id)
    print(json.dumps({"posted": result.posted, "requests": result.requests}))  # noqa: T201 - the parent reads it
    db.dispose()


if __name__ == "__main__":
    import sys

    post_in_subprocess(sys.argv[1], int(sys.argv[2]), sys.argv[3])


def qbo_credit_memo_refs(world: PostWorld, connection_id: int) -> tuple[str, str]:
    """(customer id, service item id) of the QBO company, for hand-built credit memos."""
    conn = world.connections.connector(connection_id)
    customer = next(c for c in conn.query_all("Customer") if c.get("Active", True)  # type: ignore[attr-defined]
                    and (c.get("CurrencyRef") or {}).get("value", "USD") == "USD")
    item = next(i for i in conn.query_all("Item") if i.get("IncomeAccountRef"))  # type: ignore[attr-defined]
    return str(customer["Id"]), str(item["Id"])


def qbo_credit_memo(n: int, refs: tuple[str, str], *, number: str | None = None) -> LedgerDocument:
    key = key_for("cm", n, "credit_memo")
    customer, item = refs
    payload = {
        "CustomerRef": {"value": customer}, "TxnDate": today().isoformat(),
        "DocNumber": number or keys.doc_number(f"RMA-cm-{n}", 1, "credit_memo"),
        "PrivateNote": keys.memo_text(key, f"RMA-cm-{n}", 1),
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("50.00"), "Description": "Returned widget",
                  "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": Decimal(1),
                                          "UnitPrice": Decimal("50.00"), "TaxCodeRef": {"value": "NON"}}}],
    }
    return _doc("qbo", "CreditMemo", key, "credit_memo", payload, Decimal("50.00"), "USD")
