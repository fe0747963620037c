"""Manual fallback entry against the sandbox ledgers over real HTTP, on SQLite and PostgreSQL.

Both paths are proven by counting the ledger's documents through ``GET /_sandbox/ledger/…``:
queued → the outbox posts it exactly once when the ledger is reachable again; entered directly
as N → the sync adopts N and posts nothing. Validation is pre-flight's, and every problem that
stops a submission is counted as a manual-entry error prevented.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import NeedsPersonError, PermissionDenied
from desktop.services.core.events import EventKind
from desktop.services.manual import ManualForm
from desktop.services.pipeline.outbox import Backoff
from desktop.services.queries.errors import ErrorsQueue
from desktop.services.store.models import (
    ManualEntry,
    ManualEntryPath,
    ManualEntryStatus,
    OutboxStatus,
    Return,
    ReturnLine,
    ReturnSyncStatus,
)
from tests.helpers.returns import ReturnsWorld
from tests.helpers.worlds import ADMIN

OPERATOR = Actor("olga", Role.OPERATOR)


def _entries(w: ReturnsWorld) -> list[ManualEntry]:
    with w.db.session() as s:
        return list(s.scalars(sa.select(ManualEntry).order_by(ManualEntry.id)))


def test_queued_entry_posts_exactly_once_when_the_ledger_is_reachable_again(rworld: ReturnsWorld) -> None:
    waits = rworld.wait_on_a_manual_clock()  # the client's own retries while the ledger is down take no time
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=False)
    prepared = rworld.manual.prepare(org, rma)
    keys = [d.idempotency_key for d in prepared.documents]
    before = rworld.ledger_count("qbo")
    # the ledger goes down: every batch request (look-ups and posting, each tried 5 times) answers 503
    rworld.sandbox.control("POST", "faults", {"rules": [{"service": "qbo", "path_regex": "/batch$", "method": "POST",
                                                        "action": "status", "status": 503, "times": 1000}]})

    result = rworld.manual.submit(OPERATOR, ManualForm(org, rma, ManualEntryPath.QUEUED, amount=prepared.refund.amount
                                                       if prepared.refund else None, note="sync down"))

    assert result.ok and result.prevented == 0 and len(result.entry_ids) == len(keys)
    assert {r.status for r in rworld.outbox_rows(rma)} == {OutboxStatus.PENDING}
    clock = ManualClock(rworld.clock.now())  # the poster's backoff runs on a clock the test moves
    poster = rworld.poster(clock=clock, backoff=Backoff(base_s=0.5, cap_s=0.5))
    down = poster.post_pending(cid, worker_id="w1")
    assert (down.posted, down.failed) == (0, len(keys)) and rworld.ledger_count("qbo") == before
    assert waits.slept, "the ledger client backed off before giving up (on the manual clock)"
    rows = rworld.outbox_rows(rma)
    assert {r.status for r in rows} == {OutboxStatus.FAILED}
    rworld.sandbox.control("DELETE", "faults")
    due = max(r.next_attempt_at for r in rows if r.next_attempt_at is not None)
    assert poster.post_pending(cid, worker_id="w2").requests == 0, "not due yet: the backoff holds them"
    clock.set(due + timedelta(milliseconds=1))  # the backoff passes; the ledger is reachable again

    up = poster.post_pending(cid, worker_id="w2")
    again = rworld.fast_poster().post_pending(cid, worker_id="w3")

    assert up.posted == len(keys) and again.posted == 0 and again.requests == 0
    ledger = rworld.ledger("qbo", "9130350000000001")
    assert len(ledger) == before + len(keys)
    for key in keys:
        assert len([d for d in ledger if key in str(d.get("raw"))]) == 1, "each document landed exactly once"
    assert rworld.manual.refresh_statuses() == len(keys)
    assert {e.status for e in _entries(rworld)} == {ManualEntryStatus.POSTED}
    assert EventKind.DOCUMENT_ENTERED_MANUALLY in rworld.kinds()


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_entered_directly_as_n_is_adopted_and_nothing_is_posted(rworld: ReturnsWorld, platform: Platform) -> None:
    cid, org = rworld.ready(platform)
    rma = rworld.clean_return(org, single=True)
    doc = rworld.manual.prepare(org, rma).documents[0]
    number = "HAND-4711"
    rworld.enter_in_ledger(platform.value, doc.doc_type, doc.payload, number)  # the accountant, in the ledger
    before = rworld.ledger_count(platform.value)

    result = rworld.manual.submit(OPERATOR, ManualForm(org, rma, ManualEntryPath.ENTERED_DIRECTLY,
                                                       doc_number=number))
    assert result.ok, result.prepared.problems
    parked = rworld.poster().post_pending(cid, worker_id="w1")  # a sync run before adoption sends nothing
    assert parked.posted == 0 and parked.requests == 0

    adopted = rworld.manual.adopt_pending(cid)
    after = rworld.poster().post_pending(cid, worker_id="w2")

    assert (adopted.matched, adopted.waiting, adopted.mismatched) == (1, 0, 0)
    assert after.posted == 0
    assert rworld.ledger_count(platform.value) == before, "the sync posted nothing: N was adopted"
    [row] = rworld.outbox_rows(rma)
    assert row.status is OutboxStatus.POSTED and row.remote_number == number and row.remote_id
    assert row.last_error == {"resolution": "adopted", "manual_entry": result.entry_ids[0], "at": row.last_error["at"]}
    [entry] = _entries(rworld)
    assert entry.status is ManualEntryStatus.MATCHED and entry.ledger_doc_number == number
    with rworld.db.session() as s:
        assert s.scalar(sa.select(Return.sync_status).where(Return.rma_number == rma)) is ReturnSyncStatus.POSTED
    assert EventKind.DOCUMENT_DUPLICATE_PREVENTED in rworld.kinds()
    assert rworld.manual.adopt_pending(cid).matched == 0, "adopted once; nothing left to look for"


def test_an_entry_not_in_the_ledger_yet_waits_and_retry_refuses_to_double_post(rworld: ReturnsWorld) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    before = rworld.ledger_count("qbo")
    assert rworld.manual.submit(OPERATOR, ManualForm(org, rma, ManualEntryPath.ENTERED_DIRECTLY,
                                                     doc_number="NOT-THERE")).ok
    waiting = rworld.manual.adopt_pending(cid)
    assert (waiting.matched, waiting.waiting) == (0, 1)
    [row] = rworld.outbox_rows(rma)
    with pytest.raises(NeedsPersonError, match="post it twice"):
        rworld.manual.retry(OPERATOR, row.idempotency_key)
    assert rworld.poster().post_pending(cid, worker_id="w1").posted == 0
    assert rworld.ledger_count("qbo") == before


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_error_log_retry_leaves_a_document_awaiting_adoption_waiting(rworld: ReturnsWorld, platform: Platform) -> None:
    """The error log's Retry (not only the Returns page's) must never release a document a person
    entered in the ledger by hand: the poster would send it a second time."""
    cid, org = rworld.ready(platform)
    rma = rworld.clean_return(org, single=True)
    doc = rworld.manual.prepare(org, rma).documents[0]
    number = "HAND-4712"
    rworld.enter_in_ledger(platform.value, doc.doc_type, doc.payload, number)  # typed into the ledger
    before = rworld.ledger_count(platform.value)
    assert rworld.manual.submit(OPERATOR, ManualForm(org, rma, ManualEntryPath.ENTERED_DIRECTLY,
                                                     doc_number=number)).ok
    [row] = rworld.outbox_rows(rma)
    errors = ErrorsQueue(rworld.db, rworld.clock, rworld.bus)

    with pytest.raises(NeedsPersonError, match="post it twice"):
        errors.retry(OPERATOR, row.idempotency_key)

    assert rworld.poster().post_pending(cid, worker_id="w1").posted == 0
    assert rworld.ledger_count(platform.value) == before, "the ledger holds exactly the one typed by hand"
    assert rworld.manual.adopt_pending(cid).matched == 1
    [adopted] = rworld.outbox_rows(rma)
    assert adopted.status is OutboxStatus.POSTED and adopted.remote_number == number


def test_validation_is_preflight_and_every_stopped_error_counts_as_prevented(rworld: ReturnsWorld) -> None:
    _cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    refund = rworld.manual.prepare(org, rma).refund
    assert refund is not None

    wrong = rworld.manual.submit(OPERATOR, ManualForm(org, rma, ManualEntryPath.ENTERED_DIRECTLY,
                                                      amount=refund.amount + Decimal("0.01")))
    assert not wrong.ok and wrong.prevented == 2
    assert {p.code for p in wrong.prepared.problems} == {"amount_mismatch", "doc_number_required"}
    assert rworld.outbox_rows(rma) == [] and _entries(rworld) == []

    assert rworld.manual.submit(OPERATOR, ManualForm(org, rma, amount=refund.amount)).ok
    twice = rworld.manual.submit(OPERATOR, ManualForm(org, rma))
    assert {p.code for p in twice.prepared.problems} == {"already_queued", "already_entered"}
    assert rworld.manual.prevented_count(org) == 4
    assert rworld.manual.prevented_count() == 4

    # a return pre-flight stops (its customer is unknown): the same problem codes as the sync's
    with rworld.db.write_session() as s:
        other = s.scalar(sa.select(Return).where(Return.rma_number != rma, Return.sync_status ==
                                                 ReturnSyncStatus.NEW).order_by(Return.id).limit(1))
        assert other is not None
        other.customer_name = other.customer_email = None
        other_rma = other.rma_number
    stopped = rworld.manual.submit(OPERATOR, ManualForm(org, other_rma))
    assert "customer_unresolvable" in {p.code for p in stopped.prepared.problems}
    assert rworld.manual.prevented_count(org) == 4 + stopped.prevented


def test_a_viewer_may_not_enter_by_hand(rworld: ReturnsWorld) -> None:
    _cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org)
    with pytest.raises(PermissionDenied):
        rworld.manual.submit(Actor("vic", Role.VIEWER), ManualForm(org, rma))
    assert _entries(rworld) == []


def test_export_writes_pending_documents_in_the_qbo_journal_import_format(rworld: ReturnsWorld) -> None:
    _cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=False)
    assert rworld.manual.submit(ADMIN, ManualForm(org, rma)).ok

    out = rworld.manual.export_csv(org)

    rows = list(csv.DictReader(io.StringIO(out.text)))
    assert list(rows[0]) == ["Journal No", "Journal Date", "Account Name", "Debits", "Credits", "Description", "Name"]
    assert out.documents == len(rworld.outbox_rows(rma)) and out.rows == len(rows)
    for number in {r["Journal No"] for r in rows}:
        mine = [r for r in rows if r["Journal No"] == number]
        debits = sum(Decimal(r["Debits"]) for r in mine if r["Debits"])
        credits = sum(Decimal(r["Credits"]) for r in mine if r["Credits"])
        assert debits == credits > 0, "each journal balances to the cent"
    assert all(len(r["Journal Date"]) == 10 and r["Journal Date"][2] == "/" for r in rows)


def test_export_writes_pending_credit_notes_in_the_xero_import_template(rworld: ReturnsWorld) -> None:
    _cid, org = rworld.ready(Platform.XERO)
    rma = rworld.clean_return(org, single=False)
    assert rworld.manual.submit(ADMIN, ManualForm(org, rma)).ok

    out = rworld.manual.export_csv(org)

    rows = list(csv.DictReader(io.StringIO(out.text)))
    assert list(rows[0])[:5] == ["*ContactName", "EmailAddress", "*CreditNoteNumber", "Reference", "*CreditNoteDate"]
    assert rows and all(r["*AccountCode"] and r["*TaxType"] and Decimal(r["*UnitAmount"]) >= 0 for r in rows)
    assert out.documents + len(out.skipped) == len(rworld.outbox_rows(rma))


HOSTILE = '=HYPERLINK("http://x","y")'


def _formula_cells(text: str) -> list[str]:
    """Cells a spreadsheet would evaluate (plain signed numbers are values, not formulas)."""
    return [c for row in csv.reader(io.StringIO(text)) for c in row
            if c.lstrip()[:1] in ("=", "+", "@") or (c.lstrip()[:1] == "-" and not _is_number(c))]


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True


def test_export_defuses_a_hostile_customer_name_and_description(rworld: ReturnsWorld) -> None:
    """RMS text reaches the import CSV as text: a customer (or an item) named like a formula is not run."""
    _cid, org = rworld.ready(Platform.XERO)
    rma = rworld.clean_return(org, single=False)
    with rworld.db.write_session() as s:  # a stranger's name and item text, as the RMS could send them
        ids = list(s.scalars(sa.select(Return.id).where(Return.rma_number == rma)))
        s.execute(sa.update(Return).where(Return.id.in_(ids)).values(
            customer_name=HOSTILE, customer_email="stranger@example.invalid"))
        s.execute(sa.update(ReturnLine).where(ReturnLine.return_id.in_(ids)).values(description="@SUM(A1:A9)"))
    assert rworld.manual.submit(ADMIN, ManualForm(org, rma)).ok

    out = rworld.manual.export_csv(org)

    rows = list(csv.DictReader(io.StringIO(out.text)))
    assert rows and {r["*ContactName"] for r in rows} == {"'" + HOSTILE}
    assert "'@SUM(A1:A9)" in {r["*Description"] for r in rows}
    assert _formula_cells(out.text) == []


def test_the_sync_engine_adopts_a_hand_entered_document_before_it_posts(rworld: ReturnsWorld) -> None:
    """The push step of the real engine runs the adoption first: the parked document is never sent."""
    from desktop.services.pipeline.engine import SyncEngine
    _cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    doc = rworld.manual.prepare(org, rma).documents[0]
    rworld.enter_in_ledger("qbo", doc.doc_type, doc.payload, "HAND-0815")
    before = rworld.ledger_count("qbo")
    assert rworld.manual.submit(OPERATOR, ManualForm(org, rma, ManualEntryPath.ENTERED_DIRECTLY,
                                                     doc_number="HAND-0815")).ok
    engine = SyncEngine(rworld.db, rworld.bus, rworld.clock, rworld.connections, rworld.mapping,
                        lambda _org: None, before_push=rworld.manual.adopt_pending)
    result = engine.push(org, "w-engine")
    assert result.posted == 0
    assert rworld.ledger_count("qbo") == before
    [row] = rworld.outbox_rows(rma)
    assert row.status is OutboxStatus.POSTED and row.remote_number == "HAND-0815"
