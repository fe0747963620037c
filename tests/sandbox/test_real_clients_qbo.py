"""The real python-quickbooks and intuit-oauth clients against the QBO emulator, over loopback HTTP.

What the SDKs send is what thousands of real integrations send, so anything here the emulator
refuses but QuickBooks accepts is an emulator bug (issue 13: ``SELECT *, Sku FROM Item``).

Pointing the SDKs at the sandbox: intuit-oauth's ``AuthClient`` takes a discovery-document URL as
its ``environment`` (the emulator serves one); python-quickbooks builds every URL from its
``api_url_v3`` / ``sandbox_api_url_v3`` attributes, set here on the instance. requests-oauthlib
refuses plain HTTP unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set, so the fixture sets it for the
test only (loopback, never a real host).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from intuitlib.client import AuthClient
from quickbooks import QuickBooks, batch
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import AuthorizationException, QuickbooksException, ValidationException
from quickbooks.objects.account import Account
from quickbooks.objects.base import Ref
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.item import Item
from quickbooks.objects.journalentry import JournalEntry, JournalEntryLine, JournalEntryLineDetail
from quickbooks.objects.preferences import Preferences

LOOPBACK_REDIRECT = "http://localhost:53682/qbo/callback"  # development keys allow loopback redirects
MINOR_VERSION = 75


@dataclass
class Connected:
    auth: AuthClient
    qb: QuickBooks
    realm: str


def _connect(sandbox: Any, auth: AuthClient, realm: str) -> QuickBooks:
    qb = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=realm, minorversion=MINOR_VERSION)
    qb.api_url_v3 = qb.sandbox_api_url_v3 = f"{sandbox.info['qbo']['base_url']}/v3"
    return qb


@pytest.fixture
def qbo(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Connected]:
    """A company connected through the SDK's own OAuth code exchange (consent approved via control)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    info = sandbox.info["qbo"]
    realm = info["companies"][0]["realm_id"]
    consent = sandbox.control(
        "POST", "authorize", {"service": "qbo", "company": realm, "redirect_uri": LOOPBACK_REDIRECT, "state": "s1"}
    )
    callback = parse_qs(urlparse(consent["redirect_url"]).query)
    assert callback["state"] == ["s1"] and callback["realmId"] == [realm]
    auth = AuthClient(info["client_id"], info["client_secret"], LOOPBACK_REDIRECT, info["discovery_url"])
    auth.get_bearer_token(callback["code"][0], realm_id=realm)
    qb = _connect(sandbox, auth, realm)
    yield Connected(auth, qb, realm)
    qb.session.close()
    auth.close()


def _memo(customer: Customer, item: Item, amount: str, number: str) -> CreditMemo:
    line = SalesItemLine()
    line.Amount = Decimal(amount)
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty = 1
    line.SalesItemLineDetail.UnitPrice = Decimal(amount)
    memo = CreditMemo()
    memo.Line.append(line)
    memo.CustomerRef = customer.to_ref()
    memo.DocNumber = number
    memo.PrivateNote = f"RMA {number}"
    return memo


def _ref(value: str) -> Ref:
    ref = Ref()
    ref.value = value
    return ref


# ---- OAuth ------------------------------------------------------------------------------------------
def test_intuit_oauth_refresh_user_info_and_revoke(sandbox: Any, qbo: Connected) -> None:
    first_refresh = qbo.auth.refresh_token
    assert qbo.auth.access_token and first_refresh and qbo.auth.realm_id == qbo.realm
    qbo.auth.refresh()
    assert qbo.auth.refresh_token != first_refresh  # rotated
    assert qbo.auth.get_user_info().json()["email"]
    qb = _connect(sandbox, qbo.auth, qbo.realm)  # a new session on the refreshed access token
    assert Customer.count(qb=qb) == len(Customer.all(max_results=1000, qb=qb))
    qbo.auth.revoke()
    with pytest.raises(AuthorizationException) as denied:
        Customer.count(qb=qb)
    assert denied.value.error_code == 401
    qb.session.close()


# ---- reads ------------------------------------------------------------------------------------------
def test_item_all_sends_a_select_list_and_gets_every_item(qbo: Connected) -> None:
    items = Item.all(qb=qbo.qb)  # SELECT *, Sku FROM Item MAXRESULTS 100
    assert len(items) == Item.count(qb=qbo.qb) > 1
    assert all(i.Id and i.Name and i.Type for i in items)
    page = Item.all(order_by="Name DESC", start_position=2, max_results=2, qb=qbo.qb)  # ... ORDER BY Name DESC
    names = sorted((i.Name for i in items), key=str.lower, reverse=True)
    assert [i.Name for i in page] == names[1:3]


def test_customer_filter_where_choose_and_get(qbo: Connected) -> None:
    everyone = Customer.all(max_results=1000, qb=qbo.qb)
    inactive = Customer.filter(Active=False, qb=qbo.qb)  # WHERE Active = False
    active = Customer.filter(Active=True, order_by="DisplayName", qb=qbo.qb)
    assert len(inactive) + len(active) == len(everyone) and inactive and active
    assert [c.DisplayName for c in active] == sorted((c.DisplayName for c in active), key=str.lower)
    one = active[0]
    assert [c.Id for c in Customer.filter(DisplayName=one.DisplayName, Active=True, qb=qbo.qb)] == [one.Id]
    fragment = one.DisplayName[1:4]
    liked = Customer.where(f"DisplayName LIKE '%{fragment}%'", qb=qbo.qb)
    assert one.Id in {c.Id for c in liked}
    assert all(fragment.lower() in c.DisplayName.lower() for c in liked)
    chosen = Customer.choose([everyone[0].Id, everyone[1].Id, "99999"], qb=qbo.qb)  # WHERE Id in (...)
    assert sorted(c.Id for c in chosen) == sorted([everyone[0].Id, everyone[1].Id])
    fetched = Customer.get(one.Id, qb=qbo.qb)
    assert (fetched.DisplayName, fetched.Active) == (one.DisplayName, True)
    assert CompanyInfo.get(qbo.realm, qb=qbo.qb).CompanyName
    assert Preferences.get(qb=qbo.qb).CurrencyPrefs


def test_account_query_and_count(qbo: Connected) -> None:
    banks = Account.query("SELECT * FROM Account WHERE AccountType = 'Bank' ORDERBY Name", qb=qbo.qb)
    assert banks and all(a.AccountType == "Bank" for a in banks)
    assert [a.Name for a in banks] == sorted(a.Name for a in banks)
    lower = Account.query("select * from account where accounttype = 'Bank' order by name", qb=qbo.qb)
    assert [a.Id for a in lower] == [a.Id for a in banks]
    assert Account.count("AccountType = 'Bank'", qb=qbo.qb) == len(banks)
    assert Account.count(qb=qbo.qb) == len(Account.all(max_results=1000, qb=qbo.qb))
    since = (datetime.now(UTC) - timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%S")
    recent = Account.where(f"MetaData.LastUpdatedTime > '{since}'", order_by="MetaData.LastUpdatedTime", qb=qbo.qb)
    assert len(recent) == Account.count(qb=qbo.qb)


def test_refused_queries_raise_the_sdks_validation_errors(qbo: Connected) -> None:
    with pytest.raises(ValidationException) as no_or:
        Customer.where("Active = true OR Active = false", qb=qbo.qb)
    assert no_or.value.error_code == 4000 and "QueryParserError" in no_or.value.detail
    with pytest.raises(ValidationException) as too_many:
        Item.all(max_results=1001, qb=qbo.qb)
    assert too_many.value.error_code == 4001 and "Max allowed value is 1000" in too_many.value.detail
    with pytest.raises(ValidationException) as unknown:
        Customer.query("SELECT * FROM Customers", qb=qbo.qb)
    assert unknown.value.error_code == 4001


# ---- writes -----------------------------------------------------------------------------------------
def test_create_credit_memo_and_journal_entry(qbo: Connected) -> None:
    customer = Customer.filter(Active=True, max_results=1, qb=qbo.qb)[0]
    item = Item.all(max_results=1, qb=qbo.qb)[0]
    saved = _memo(customer, item, "10.00", "SDK-1").save(qb=qbo.qb)
    assert saved.Id and saved.SyncToken == "0" and saved.DocNumber == "SDK-1"
    assert Decimal(str(saved.TotalAmt)) >= Decimal("10.00")  # plus the company's sales tax
    again = CreditMemo.get(saved.Id, qb=qbo.qb)
    assert (again.DocNumber, again.CustomerRef.value) == ("SDK-1", customer.Id)
    again.PrivateNote = "RMA SDK-1 (received)"
    updated = again.save(qb=qbo.qb)  # a full update: every field the SDK holds, with the SyncToken
    assert (updated.Id, updated.SyncToken, updated.PrivateNote) == (saved.Id, "1", "RMA SDK-1 (received)")
    retried = [_memo(customer, item, "2.00", "SDK-2").save(qb=qbo.qb, request_id="sdk-retry-1") for _ in range(2)]
    assert retried[0].Id == retried[1].Id  # requestid replays the first answer
    assert [m.Id for m in CreditMemo.filter(DocNumber="SDK-1", qb=qbo.qb)] == [saved.Id]

    income, bank = (Account.filter(AccountType=t, qb=qbo.qb)[0] for t in ("Income", "Bank"))
    entry = JournalEntry()
    entry.DocNumber = "JE-SDK-1"
    for posting, account in (("Debit", income), ("Credit", bank)):
        line = JournalEntryLine()
        line.Amount = Decimal("15.00")
        line.Description = "Restocking fee refund"
        line.JournalEntryLineDetail = JournalEntryLineDetail()
        line.JournalEntryLineDetail.PostingType = posting
        line.JournalEntryLineDetail.AccountRef = _ref(account.Id)
        entry.Line.append(line)
    posted = entry.save(qb=qbo.qb)
    assert posted.Id and Decimal(str(posted.TotalAmt)) == Decimal("15.00")
    assert {ln.JournalEntryLineDetail.PostingType for ln in posted.Line} == {"Debit", "Credit"}

    unbalanced = JournalEntry()
    unbalanced.Line = [posted.Line[0]]
    with pytest.raises(QuickbooksException) as refused:
        unbalanced.save(qb=qbo.qb)
    assert refused.value.error_code >= 2000


def test_batch_create_answers_each_item(qbo: Connected) -> None:
    customer = Customer.filter(Active=True, max_results=1, qb=qbo.qb)[0]
    item = Item.all(max_results=1, qb=qbo.qb)[0]
    memos = [_memo(customer, item, f"{5 + i}.00", f"B-{i}") for i in range(3)]
    result = batch.batch_create(memos, qb=qbo.qb)
    assert result.faults == [] and sorted(m.DocNumber for m in result.successes) == ["B-0", "B-1", "B-2"]
    assert CreditMemo.count("DocNumber IN ('B-0', 'B-1', 'B-2')", qb=qbo.qb) == 3

    stranger = Customer()
    stranger.Id = "999999"
    pair = [_memo(customer, item, "1.00", "B-ok"), _memo(stranger, item, "1.00", "B-bad")]
    mixed = batch.batch_create(pair, qb=qbo.qb)
    assert [m.DocNumber for m in mixed.successes] == ["B-ok"]
    assert len(mixed.faults) == 1 and mixed.faults[0].original_object.DocNumber == "B-bad"
    assert mixed.faults[0].Error[0].code


def test_change_data_capture_sees_creates_and_deletes(qbo: Connected) -> None:
    customer = Customer.filter(Active=True, max_results=1, qb=qbo.qb)[0]
    item = Item.all(max_results=1, qb=qbo.qb)[0]
    since = datetime.now(UTC) - timedelta(days=1)
    kept = _memo(customer, item, "3.00", "CDC-1").save(qb=qbo.qb)
    gone = _memo(customer, item, "4.00", "CDC-2").save(qb=qbo.qb)
    gone.delete(qb=qbo.qb)
    cdc = change_data_capture([CreditMemo, JournalEntry], since, qb=qbo.qb)
    rows = {m.Id: m for m in cdc.CreditMemo}
    assert rows[kept.Id].DocNumber == "CDC-1"
    assert rows[gone.Id].status == "Deleted"
    assert not hasattr(cdc, "JournalEntry")  # nothing changed there
    assert CreditMemo.filter(DocNumber="CDC-2", qb=qbo.qb) == []
