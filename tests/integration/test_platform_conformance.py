"""The connector conformance suite over the whole :class:`LedgerPlatform` interface, both platforms.

Every method of the interface (and of its :class:`PlatformProfile`) runs against the sandbox
emulators over real HTTP for QuickBooks Online and Xero: reference data, posting a batch, finding
documents by key / number / id / date range, the change feed, voiding and deleting, exchange
rates — plus the shared paginator to exhaustion and on an exact page boundary.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from desktop.services.auth.oauth import ClientCredentials, OAuthClient
from desktop.services.auth.platforms import Environment, Platform, auth_facts, endpoints
from desktop.services.auth.vault import TokenVault
from desktop.services.core.clock import SystemClock
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.keys import idempotency_key, memo_text
from desktop.services.platforms.base import RefKind, RefRecord
from desktop.services.platforms.http import LedgerHttp, Throttle
from desktop.services.platforms.interface import KeyQuery, LedgerPlatform, Page, paginate
from desktop.services.platforms.qbo.post import Outcome, PostRequest
from desktop.services.platforms.registry import PROFILES, platform_for
from desktop.services.platforms.xero.connector import list_tenants
from tests.helpers.sandbox import SandboxHandle


@dataclass
class Ledger:
    """One connected sandbox company and what the tests post into it."""

    platform: LedgerPlatform
    vault: TokenVault
    ref: str
    refs: dict[RefKind, list[RefRecord]]

    @property
    def key(self) -> str:
        return self.platform.profile.key


def _connect(sandbox: SandboxHandle, key: str) -> Ledger:
    """Sign in as a person would (simulated consent), then build the platform from the registry."""
    platform = Platform(key)
    profile = platform_for(platform)
    info = sandbox.info[key]
    eps = endpoints(platform, Environment.LOCAL, sandbox_url=sandbox.control_url.rsplit("/_sandbox", 1)[0])
    creds = (ClientCredentials(info["client_id"], info["client_secret"]) if auth_facts(platform).needs_client_secret
             else ClientCredentials(info["pkce_client_id"]))
    client = OAuthClient(eps, creds, info["redirect_uri"], SystemClock())
    request = client.begin()
    listing, id_field = profile.sandbox_listing
    company = info[listing][0][id_field]
    q = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    body = {"service": key, "company": company, **{k: q[k] for k in ("client_id", "redirect_uri", "scope", "state")}}
    if "code_challenge" in q:
        body["code_challenge"] = q["code_challenge"]
    redirect = sandbox.control("POST", "authorize", body)["redirect_url"]
    tokens = client.exchange_code(request, client.parse_callback(request, redirect))
    vault = TokenVault(SystemClock())
    ref = f"conf-{key}-{uuid.uuid4().hex[:8]}"
    vault.store_token_result(ref, tokens)
    per_minute, concurrent = profile.rate_limits
    http = LedgerHttp(throttle=Throttle(per_minute, concurrent), platform=key,
                      token=lambda rejected: vault.access_token(ref, client.refresh, rejected=rejected))
    if profile.picks_tenant_after_sign_in:
        assert eps.connections_url is not None
        assert company in {t["tenantId"] for t in list_tenants(http, eps.connections_url)}
    ledger = profile.connect(http, eps.api_base_url, company)
    return Ledger(ledger, vault, ref, ledger.reference_data([RefKind.ACCOUNT, RefKind.CUSTOMER, RefKind.ITEM]))


@pytest.fixture(params=sorted(PROFILES), ids=sorted(PROFILES))
def ledger(request: pytest.FixtureRequest, sandbox: SandboxHandle) -> Iterator[Ledger]:
    conn = _connect(sandbox, request.param)
    yield conn
    conn.vault.forget(conn.ref)


def _account(refs: dict[RefKind, list[RefRecord]], *types: str) -> RefRecord:
    return next(a for a in refs[RefKind.ACCOUNT] if a.active and a.type in types and a.currency in (None, "USD", "NZD")
                and not a.raw.get("SystemAccount"))


def _journal(led: Ledger, key: str, day: date, amount: str, *, posted: bool = True) -> PostRequest:
    """A two-line journal carrying ``key`` where the platform keeps our key."""
    if led.key == "qbo":  # test data only: the payload shapes themselves belong to the recipes
        debit, credit = _account(led.refs, "Expense"), _account(led.refs, "Bank")
        lines = [{"Amount": Decimal(amount), "DetailType": "JournalEntryLineDetail",
                  "JournalEntryLineDetail": {"PostingType": side, "AccountRef": {"value": acct.remote_id}}}
                 for side, acct in (("Debit", debit), ("Credit", credit))]
        body = {"TxnDate": day.isoformat(), "DocNumber": key[-20:], "PrivateNote": memo_text(key, "RMA-C", 1),
                "Line": lines}
        return PostRequest(key, "JournalEntry", body)
    debit, credit = _account(led.refs, "EXPENSE", "OVERHEADS"), _account(led.refs, "REVENUE", "SALES")
    journal: dict[str, Any] = {"Narration": memo_text(key, "RMA-C", 1), "Date": day.isoformat(), "JournalLines": [
        {"LineAmount": Decimal(amount), "AccountCode": debit.code},
        {"LineAmount": -Decimal(amount), "AccountCode": credit.code}]}
    if posted:
        journal["Status"] = "POSTED"
    return PostRequest(key, "ManualJournal", journal)


def _key() -> str:
    return idempotency_key("CONF", uuid.uuid4().hex, 1, "journal")


# --- reference data --------------------------------------------------------------------------

def test_company_info_and_reference_data(ledger: Ledger) -> None:
    info = ledger.platform.company_info()
    assert info.company_id == ledger.platform.company_id and info.home_currency in info.currencies
    data = ledger.platform.reference_data()
    assert set(data) == set(RefKind)
    assert {a.type for a in data[RefKind.ACCOUNT]} & set(ledger.platform.profile.refund_bank_types)
    assert ledger.platform.platform == ledger.key and ledger.platform.requests_sent > 0


# --- posting and reading documents -------------------------------------------------------------

def test_post_then_find_by_key_number_id_and_date(ledger: Ledger) -> None:
    p = ledger.platform
    day = datetime.now(UTC).date()
    keys = [_key(), _key()]
    items = [_journal(ledger, k, day, "12.34") for k in keys]
    sent = p.requests_sent
    answers = p.post_batch(items, [f"{k}:1" for k in keys])
    assert p.requests_sent - sent == 1, "one request for the batch"
    assert [a.outcome for a in answers] == [Outcome.POSTED, Outcome.POSTED], answers
    posted = {a.key: a.remote for a in answers}

    missing = _key()
    found = p.find_by_keys([KeyQuery(k, it.doc_type, it.body) for k, it in zip(keys, items, strict=True)]
                           + [KeyQuery(missing, items[0].doc_type)])
    assert found[missing] is None
    for k in keys:
        hit, remote = found[k], posted[k]
        assert hit is not None and remote is not None and hit.remote_id == remote.remote_id

    first = posted[keys[0]]
    assert first is not None
    one = p.document(first.doc_type, first.remote_id)
    view = p.profile.view(one.doc_type, one.raw)
    assert (view.remote_id, view.status, view.our_key) == (first.remote_id, "active", keys[0])
    assert view.total == Decimal("12.34") and view.txn_date == day
    assert dict(p.profile.accounts_of(one.raw))  # journal lines with their accounts

    by_number = p.find_by_number(first.doc_type, first.number or first.remote_id)
    assert by_number is not None and by_number.remote_id == first.remote_id
    assert p.find_by_number(first.doc_type, "") is None

    dated = p.documents_dated(day, day)
    assert {posted[k].remote_id for k in keys if posted[k]} <= {d.remote_id for d in dated}
    assert not {posted[k].remote_id for k in keys if posted[k]} & {
        d.remote_id for d in p.documents_dated(day - timedelta(days=400), day - timedelta(days=399))}


def test_change_feed_sees_a_new_document(ledger: Ledger) -> None:
    p = ledger.platform
    now = datetime.now(UTC)
    k = _key()
    [answer] = p.post_batch([_journal(ledger, k, now.date(), "5.00")], [f"{k}:1"])
    assert answer.remote is not None
    since, gap = p.profile.feed_start(None, now - timedelta(minutes=5), now)
    assert gap is False
    feed = p.changes_since(since, lambda: now)
    assert feed.cursor
    mine = [d for d in feed.docs if d.remote_id == answer.remote.remote_id]
    assert mine and mine[0].our_key == k and mine[0].status == "active"


def test_void_and_delete(ledger: Ledger) -> None:
    p = ledger.platform
    day = datetime.now(UTC).date()
    if ledger.key == "qbo":  # QuickBooks voids sales forms and payments, not journals: void a credit memo
        k = _key()
        cust = next(c for c in ledger.refs[RefKind.CUSTOMER] if c.active and c.currency in (None, "USD"))
        item = next(i for i in ledger.refs[RefKind.ITEM] if i.active and i.type == "Service")
        memo = {"CustomerRef": {"value": cust.remote_id}, "TxnDate": day.isoformat(),
                "PrivateNote": memo_text(k, "RMA-C", 1),
                "Line": [{"Amount": Decimal("3.00"), "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {
                    "ItemRef": {"value": item.remote_id}, "Qty": 1, "UnitPrice": Decimal("3.00"),
                    "TaxCodeRef": {"value": "NON"}}}]}
        [voidable] = p.post_batch([PostRequest(k, "CreditMemo", memo)], [f"{k}:1"])
    else:
        k = _key()
        [voidable] = p.post_batch([_journal(ledger, k, day, "7.00")], [f"{k}:1"])
    assert voidable.remote is not None, voidable
    p.void(voidable.remote.doc_type, voidable.remote.remote_id)
    again = p.document(voidable.remote.doc_type, voidable.remote.remote_id)
    assert p.profile.view(again.doc_type, again.raw).status == "voided"

    k = _key()
    [deletable] = p.post_batch([_journal(ledger, k, day, "8.00", posted=False)], [f"{k}:1"])
    assert deletable.remote is not None
    p.delete(deletable.remote.doc_type, deletable.remote.remote_id)
    try:
        gone = p.document(deletable.remote.doc_type, deletable.remote.remote_id)
    except NeedsPersonError as exc:  # QuickBooks: the document no longer exists
        assert exc.platform_code in p.gone_codes
    else:  # Xero keeps it listed, DELETED
        assert p.profile.view(gone.doc_type, gone.raw).status == "deleted"
    assert p.find_by_number(deletable.remote.doc_type, deletable.remote.number or deletable.remote.remote_id) is None


def test_document_gone_is_reported_with_a_gone_code(ledger: Ledger) -> None:
    p = ledger.platform
    doc_type = "JournalEntry" if ledger.key == "qbo" else "ManualJournal"
    missing = "987654321" if ledger.key == "qbo" else str(uuid.uuid4())
    with pytest.raises(NeedsPersonError) as err:
        p.document(doc_type, missing)
    assert err.value.platform_code in p.gone_codes


# --- what posting needs besides documents -------------------------------------------------------

def test_customers_and_items_on_demand(ledger: Ledger) -> None:
    p = ledger.platform
    name = f"Conformance {uuid.uuid4().hex[:6]}"
    if not p.profile.creates_references:
        with pytest.raises(NotImplementedError):
            p.ensure_customers([(name, None, None)])
        with pytest.raises(NotImplementedError):
            p.ensure_item("1")
        assert p.learned_customers() == []
        return
    ids = p.ensure_customers([(name, "conf@example.com", None)])
    created = ids[p.customer_key(name, None)]
    assert isinstance(created, str)
    assert [c.remote_id for c in p.learned_customers()] == [created]
    account = _account(ledger.refs, "Income")
    item = p.ensure_item(account.remote_id)
    assert p.ensure_item(account.remote_id) == item  # remembered: asked once


def test_exchange_rates(ledger: Ledger) -> None:
    p = ledger.platform
    info = p.company_info()
    foreign = next(c for c in info.currencies if c != info.home_currency)
    today = datetime.now(UTC).date()
    row = p.exchange_rate(foreign, today)
    rows = p.exchange_rates([(foreign, today), (foreign, today - timedelta(days=3))])
    if p.profile.publishes_rates:
        assert row is not None and row["SourceCurrencyCode"] == foreign and Decimal(row["Rate"]) > 0
        assert len(rows) == 2
        assert p.exchange_rate("JPY", today) is None  # a currency it has no rate for: None, not an error
    else:
        assert row is None and rows == []


# --- the profile (no network) -------------------------------------------------------------------

def test_profile_payload_shapes(ledger: Ledger) -> None:
    profile = ledger.platform.profile
    k = _key()
    item = _journal(ledger, k, date(2026, 3, 1), "10.00")
    wrapped = {"ManualJournals": [item.body]} if profile.one_type_per_request else item.body
    assert profile.entity_of(item.doc_type, wrapped) == item.body
    redated = profile.with_date(item.doc_type, wrapped, date(2026, 3, 2))
    assert profile.entity_of(item.doc_type, redated) != item.body and redated is not wrapped
    sent = profile.sent_view(item.doc_type, wrapped, "1")
    assert sent.doc_type == item.doc_type
    assert profile.rate_of(item.doc_type, wrapped) is None  # a home-currency journal carries no rate
    assert profile.sent_tax(item.doc_type, None, Decimal(1)) is None
    assert profile.label("200", "Sales") in ("Sales", "200 Sales")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    old = (now - timedelta(days=40)).isoformat()
    since, gap = profile.feed_start(old, now - timedelta(days=29), now)
    assert gap is (profile.change_window is not None)  # past what the feed keeps: said, and started inside it
    if gap:
        assert since != old
    assert profile.feed_start(None, now - timedelta(days=1), now)[1] is False
    assert platform_for(ledger.platform) is PROFILES[ledger.key]
    assert platform_for(Platform(ledger.key)) is PROFILES[ledger.key]


# --- the shared paginator -----------------------------------------------------------------------

def test_paginate_stops_on_a_short_page_and_after_an_exact_boundary() -> None:
    data = list(range(7))
    asked: list[int] = []

    def fetch(size: int) -> Any:
        def one(index: int) -> Page[int]:
            asked.append(index)
            return Page(data[index * size:(index + 1) * size])
        return one

    assert [x for page in paginate(fetch(3), 3) for x in page] == data and asked == [0, 1, 2]
    asked.clear()
    assert [x for page in paginate(fetch(7), 7) for x in page] == data and asked == [0, 1]  # one empty page
    asked.clear()
    def whole(index: int) -> Page[int]:
        asked.append(index)
        return Page(data, last=True)

    pages = list(paginate(whole, 7))
    assert pages == [data] and asked == [0]  # the platform said "last": no extra request


def _pages(ledger: Ledger, size: int) -> tuple[list[str], int]:
    """Every customer/contact read with ``size`` rows a page; (ids, requests)."""
    p: Any = ledger.platform
    p.page_size = size
    before = p.requests_sent
    ids = [r.remote_id for r in p.reference_data([RefKind.CUSTOMER])[RefKind.CUSTOMER]]
    return ids, p.requests_sent - before


def test_paging_to_exhaustion_and_on_an_exact_page_boundary(ledger: Ledger) -> None:
    everyone, _ = _pages(ledger, 1000)
    n = len(everyone)
    assert n >= 4
    size = n // 2 + 1  # two pages, the second short
    ids, requests = _pages(ledger, size)
    assert ids == everyone and requests == 2
    ids, requests = _pages(ledger, n)  # exactly one full page: one more (empty) page ends it
    assert ids == everyone and requests == 2


def test_date_range_pages_on_an_exact_boundary(ledger: Ledger) -> None:
    p: Any = ledger.platform
    day = datetime.now(UTC).date()
    keys = [_key() for _ in range(4)]
    p.post_batch([_journal(ledger, k, day, "1.00") for k in keys], [f"{k}:1" for k in keys])
    everything = {d.remote_id for d in p.documents_dated(day, day)}
    p.page_size = 2
    before = p.requests_sent
    paged = p.documents_dated(day, day)
    assert {d.remote_id for d in paged} == everything and len(paged) == len(everything)
    assert p.requests_sent - before >= 3  # several pages of the journals alone
