"""Xero's official SDK (xero-python) against the Xero emulator, over loopback HTTP.

xero-python has no authorization-code exchange of its own (apps use an OAuth library for that),
so the fixture approves consent through the control API and exchanges the code at the emulator's
identity token endpoint the way such a library does; from then on every call, the token refresh
included, is the SDK's. It is pointed at the sandbox by ``base_url`` on each API object, and its
refresh by the ``TokenApi.refresh_token_url`` class attribute (the SDK offers no other knob).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from xero_python.accounting import (
    AccountingApi,
    Allocation,
    Allocations,
    Contact,
    CreditNote,
    CreditNotes,
    Invoice,
    LineAmountTypes,
    LineItem,
    ManualJournal,
    ManualJournalLine,
    ManualJournals,
)
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import AccountingBadRequestException, ApiException
from xero_python.identity import IdentityApi

TODAY = datetime.now(UTC).date()  # never ahead of the demo orgs' local date (NZ, UK)


@dataclass
class Xero:
    api: AccountingApi
    identity: IdentityApi
    client: ApiClient
    tenant: str
    token: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def xero(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Xero]:
    info = sandbox.info["xero"]
    tenant = info["tenants"][0]["tenant_id"]
    consent = sandbox.control("POST", "authorize", {"service": "xero", "company": tenant, "state": "s1"})
    callback = parse_qs(urlparse(consent["redirect_url"]).query)
    assert callback["state"] == ["s1"]
    token_url = f"{info['base_url']}/identity/connect/token"
    answer = requests.post(
        token_url,
        data={"grant_type": "authorization_code", "code": callback["code"][0], "redirect_uri": info["redirect_uri"]},
        auth=(info["client_id"], info["client_secret"]),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()
    token |= {"scope": token["scope"].split(), "expires_at": time.time() + token["expires_in"]}
    monkeypatch.setattr(TokenApi, "refresh_token_url", token_url)
    holder = Xero(None, None, None, tenant, token)  # type: ignore[arg-type]
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id=info["client_id"], client_secret=info["client_secret"])),
        pool_threads=1,
        oauth2_token_getter=lambda: holder.token,
        oauth2_token_saver=lambda new: setattr(holder, "token", new),
    )
    holder.client = client
    holder.api = AccountingApi(client, base_url=f"{info['base_url']}/api.xro/2.0")
    holder.identity = IdentityApi(client, base_url=info["base_url"])
    yield holder
    client.rest_client.pool_manager.clear()  # the SDK has no close(); drop its pooled connections


def _credit_note(contact_id: str, amount: str, reference: str, **over: Any) -> CreditNote:
    line = LineItem(description="Returned goods", quantity=1, unit_amount=Decimal(amount), account_code="200",
                    tax_type="OUTPUT2")
    fields: dict[str, Any] = {
        "type": "ACCRECCREDIT", "contact": Contact(contact_id=contact_id), "date": TODAY,
        "status": "AUTHORISED", "line_amount_types": LineAmountTypes.EXCLUSIVE, "reference": reference,
        "line_items": [line],
    }
    return CreditNote(**(fields | over))


def _contact(x: Xero) -> str:
    contact_id = x.api.get_contacts(x.tenant, where='ContactStatus=="ACTIVE"').contacts[0].contact_id
    assert isinstance(contact_id, str)
    return contact_id


# ---- identity and reads --------------------------------------------------------------------------------
def test_connections_accounts_and_invoices(xero: Xero) -> None:
    connections = xero.identity.get_connections()
    assert [c.tenant_id for c in connections] == [xero.tenant]
    accounts = xero.api.get_accounts(xero.tenant).accounts
    assert len(accounts) > 5 and all(a.code or a.type for a in accounts)
    banks = xero.api.get_accounts(xero.tenant, where='Type=="BANK"', order="Name DESC").accounts
    assert banks and all(str(a.type).endswith("BANK") for a in banks)
    assert [a.name for a in banks] == sorted((a.name for a in banks), reverse=True)

    invoices = xero.api.get_invoices(xero.tenant, page=1).invoices
    assert invoices
    authorised = xero.api.get_invoices(xero.tenant, where='Status=="AUTHORISED"', page=1).invoices
    assert authorised and all(str(i.status).endswith("AUTHORISED") for i in authorised)
    one = invoices[0]
    by_id = xero.api.get_invoices(xero.tenant, i_ds=[one.invoice_id]).invoices
    assert [i.invoice_number for i in by_id] == [one.invoice_number]
    assert xero.api.get_invoice(xero.tenant, one.invoice_id).invoices[0].total == one.total


def test_credit_notes_where_and_paging(xero: Xero) -> None:
    contact = _contact(xero)
    notes = CreditNotes(credit_notes=[_credit_note(contact, f"{10 + i}.00", f"RMA-P{i}") for i in range(5)])
    xero.api.create_credit_notes(xero.tenant, notes, summarize_errors=False)
    first = xero.api.get_credit_notes(xero.tenant, where='Reference.StartsWith("RMA-P")', order="Reference",
                                      page=1, page_size=2)
    assert [n.reference for n in first.credit_notes] == ["RMA-P0", "RMA-P1"]
    assert (first.pagination.page, first.pagination.page_size) == (1, 2)
    assert (first.pagination.page_count, first.pagination.item_count) == (3, 5)
    last = xero.api.get_credit_notes(xero.tenant, where='Reference.StartsWith("RMA-P")', order="Reference",
                                     page=3, page_size=2)
    assert [n.reference for n in last.credit_notes] == ["RMA-P4"]
    big = xero.api.get_credit_notes(xero.tenant, where='Total>=14.00&&Type=="ACCRECCREDIT"').credit_notes
    assert sorted(n.reference for n in big) == ["RMA-P3", "RMA-P4"]  # 12.00 + 15% GST = 13.80
    since = datetime.now(UTC) - timedelta(minutes=5)
    fresh = xero.api.get_credit_notes(xero.tenant, if_modified_since=since).credit_notes
    assert {n.reference for n in fresh} >= {f"RMA-P{i}" for i in range(5)}


# ---- writes ------------------------------------------------------------------------------------------
def test_create_credit_note_allocate_and_journal(xero: Xero) -> None:
    invoice = next(
        i for i in xero.api.get_invoices(xero.tenant, where='Status=="AUTHORISED"&&Type=="ACCREC"').invoices
        if i.amount_due >= Decimal("57.50")
    )
    contact = invoice.contact.contact_id
    made = xero.api.create_credit_notes(
        xero.tenant, CreditNotes(credit_notes=[_credit_note(contact, "50.00", "RMA-1001")]),
        summarize_errors=False, idempotency_key="rma-1001-create",
    ).credit_notes[0]
    assert made.credit_note_id and made.total == Decimal("57.50") and not made.validation_errors
    replay = xero.api.create_credit_notes(
        xero.tenant, CreditNotes(credit_notes=[_credit_note(contact, "50.00", "RMA-1001")]),
        summarize_errors=False, idempotency_key="rma-1001-create",
    ).credit_notes[0]
    assert replay.credit_note_id == made.credit_note_id  # Idempotency-Key replays

    assert made.currency_code == invoice.currency_code
    allocation = Allocation(invoice=Invoice(invoice_id=invoice.invoice_id), amount=made.total, date=TODAY)
    xero.api.create_credit_note_allocation(xero.tenant, made.credit_note_id, Allocations(allocations=[allocation]))
    after = xero.api.get_credit_note(xero.tenant, made.credit_note_id).credit_notes[0]
    assert after.remaining_credit == 0 and str(after.status).endswith("PAID")

    journal = ManualJournal(
        narration="Restocking fee RMA-1001", date=TODAY, status="POSTED",
        line_amount_types=LineAmountTypes.NOTAX,
        journal_lines=[ManualJournalLine(line_amount=Decimal("15.00"), account_code="610"),
                       ManualJournalLine(line_amount=Decimal("-15.00"), account_code="260")],
    )
    posted = xero.api.create_manual_journals(xero.tenant, ManualJournals(manual_journals=[journal])).manual_journals[0]
    assert posted.manual_journal_id and str(posted.status).endswith("POSTED")
    found = xero.api.get_manual_journals(xero.tenant, where='Narration=="Restocking fee RMA-1001"').manual_journals
    assert [j.manual_journal_id for j in found] == [posted.manual_journal_id]


def test_validation_errors_reach_the_sdk(xero: Xero) -> None:
    contact = _contact(xero)
    bad = _credit_note(contact, "5.00", "RMA-BAD", line_items=[
        LineItem(description="x", quantity=1, unit_amount=Decimal("5.00"), account_code="NOPE")
    ])
    mixed = xero.api.create_credit_notes(
        xero.tenant, CreditNotes(credit_notes=[_credit_note(contact, "5.00", "RMA-OK"), bad]), summarize_errors=False
    ).credit_notes
    assert [bool(n.has_errors) for n in mixed] == [False, True] and mixed[1].validation_errors
    with pytest.raises(AccountingBadRequestException) as refused:
        xero.api.create_credit_notes(xero.tenant, CreditNotes(credit_notes=[bad]))
    assert refused.value.status == 400 and refused.value.reason
    unbalanced = ManualJournal(narration="Off by one", journal_lines=[
        ManualJournalLine(line_amount=Decimal("1.00"), account_code="610"),
        ManualJournalLine(line_amount=Decimal("-2.00"), account_code="260"),
    ])
    with pytest.raises(AccountingBadRequestException) as journal_refused:
        xero.api.create_manual_journals(xero.tenant, ManualJournals(manual_journals=[unbalanced]))
    assert "debits" in str(journal_refused.value.reason).lower()


# ---- tokens ------------------------------------------------------------------------------------------
def test_the_sdk_refreshes_an_expired_token_and_revocation_ends_access(sandbox: Any, xero: Xero) -> None:
    old_access, old_refresh = xero.token["access_token"], xero.token["refresh_token"]
    xero.token["expires_at"] = time.time() - 1  # the SDK refreshes before the next call
    assert xero.api.get_organisations(xero.tenant).organisations
    assert xero.token["access_token"] != old_access and xero.token["refresh_token"] != old_refresh
    requests.post(
        f"{sandbox.info['xero']['base_url']}/identity/connect/revocation",
        data={"token": xero.token["refresh_token"]},
        auth=(sandbox.info["xero"]["client_id"], sandbox.info["xero"]["client_secret"]),
        timeout=10,
    ).raise_for_status()
    with pytest.raises(ApiException) as denied:
        xero.api.get_organisations(xero.tenant)
    assert denied.value.status == 401
