"""Posting the outbox to QBO and Xero over real HTTP: exactly once, batched, within limits.

Every test runs on SQLite and PostgreSQL, against the sandbox emulators, with ledgers connected
through the real sign-in flow and tokens in the real keyring.
"""

from __future__ import annotations

from decimal import Decimal

from desktop.services.auth.platforms import Platform
from desktop.services.core.events import EventKind
from desktop.services.store.models import OutboxStatus
from tests.helpers.posting import (
    qbo_accounts,
    qbo_journal,
    xero_codes,
    xero_journal,
    xero_refund,
)
from tests.helpers.worlds import World

REALM = "9130350000000001"
TENANT = "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01"


def test_qbo_posts_each_document_once_in_batches_of_30_and_a_replay_posts_nothing(world: World) -> None:
    cid = world.connect(Platform.QBO).id
    accounts = qbo_accounts(world, cid)
    docs = [qbo_journal(n, accounts) for n in range(60)]
    before = len(world.ledger("qbo", REALM))
    assert len(world.enqueue(cid, docs)) == 60

    result = world.poster().post_pending(cid, worker_id="w1")

    assert (result.posted, result.failed, result.quarantined, result.uncertain) == (60, 0, 0, 0)
    assert result.requests == 2, "60 documents, 30 per batch"
    assert result.requests / result.posted <= 1 / 25
    assert len(world.ledger("qbo", REALM)) == before + 60
    rows = world.rows()
    assert all(r.status is OutboxStatus.POSTED and r.remote_id and r.sync_token == "0" for r in rows.values())
    assert {r.remote_number for r in rows.values()} == {d.payload["DocNumber"] for d in docs}
    assert world.kinds().count(EventKind.DOCUMENT_POSTED) == 60
    # the same plan again: nothing new queued, nothing posted, nothing sent
    assert world.enqueue(cid, docs) == []
    again = world.poster().post_pending(cid, worker_id="w2")
    assert (again.posted, again.requests) == (0, 0)
    assert len(world.ledger("qbo", REALM)) == before + 60


def test_xero_posts_50_per_request_and_pays_a_credit_note_after_it_is_posted(world: World) -> None:
    cid = world.connect(Platform.XERO).id
    codes = xero_codes(world, cid)
    journals = [xero_journal(n, codes) for n in range(86)]
    note, payment = xero_refund(1, codes)
    before = len(world.ledger("xero", TENANT))
    world.enqueue(cid, [payment, note, *journals])  # the payment first: it must still wait for its note

    result = world.poster().post_pending(cid, worker_id="w1")

    assert (result.posted, result.quarantined, result.uncertain) == (88, 0, 0)
    # journals 50 + 36, the credit note, then its payment: 4 requests for 88 documents
    assert result.requests == 4 and result.requests / result.posted <= 1 / 22
    ledger = world.ledger("xero", TENANT)
    assert len(ledger) == before + 88
    rows = world.rows()
    paid = [d for d in ledger if d["type"] == "Payment" and payment.idempotency_key in str(d["reference"])]
    assert len(paid) == 1
    assert paid[0]["raw"]["CreditNote"]["CreditNoteID"] == rows[note.idempotency_key].remote_id
    assert rows[note.idempotency_key].remote_number  # the CN-… number Xero gave it


def test_xero_journals_alone_cost_at_most_one_request_per_45_documents(world: World) -> None:
    cid = world.connect(Platform.XERO).id
    codes = xero_codes(world, cid)
    world.enqueue(cid, [xero_journal(n, codes) for n in range(90)])
    result = world.poster().post_pending(cid, worker_id="w1")
    assert result.posted == 90 and result.requests == 2
    assert result.requests / result.posted <= 1 / 45


def test_a_validation_fault_quarantines_with_the_platforms_message(world: World) -> None:
    qbo = world.connect(Platform.QBO).id
    xero = world.connect(Platform.XERO).id
    good = qbo_journal(1, qbo_accounts(world, qbo))
    bad = qbo_journal(2, qbo_accounts(world, qbo), amount="10.00", credit="9.00")
    codes = xero_codes(world, xero)
    xbad = xero_journal(3, codes, amount="10.00", credit="9.00")
    world.enqueue(qbo, [good, bad])
    world.enqueue(xero, [xbad])

    q = world.poster().post_pending(qbo, worker_id="w1")
    x = world.poster().post_pending(xero, worker_id="w1")

    assert (q.posted, q.quarantined, x.posted, x.quarantined) == (1, 1, 0, 1)
    rows = world.rows()
    qerr, xerr = rows[bad.idempotency_key].last_error, rows[xbad.idempotency_key].last_error
    assert rows[bad.idempotency_key].status is OutboxStatus.QUARANTINED
    assert qerr is not None and qerr["platform"] == "qbo" and qerr["platform_code"]
    assert "debit" in str(qerr["platform_message"]).lower() or "balance" in str(qerr["platform_message"]).lower()
    assert xerr is not None and "debits" in str(xerr["platform_message"]) and xerr["platform"] == "xero"
    quarantined = [e for e in world.events if e.kind == EventKind.DOCUMENT_QUARANTINED]
    assert {e.document_key for e in quarantined} == {bad.idempotency_key, xbad.idempotency_key}
    assert all(e.platform_message for e in quarantined)
    assert world.ledger_with("qbo", REALM, bad.idempotency_key) == []


def test_amounts_reach_the_ledger_to_the_cent(world: World) -> None:
    cid = world.connect(Platform.QBO).id
    doc = qbo_journal(7, qbo_accounts(world, cid), amount="1234567.89")
    world.enqueue(cid, [doc])
    world.poster().post_pending(cid, worker_id="w1")
    [posted] = world.ledger_with("qbo", REALM, doc.idempotency_key)
    assert Decimal(posted["total"]) == Decimal("1234567.89")
