"""Reconciliation against the ledger mirror kept current by the change feed (issue 14, item 3).

Over real HTTP to the emulators, on SQLite and PostgreSQL, on QuickBooks and Xero:

- documents created, edited, voided and deleted in the ledger between two reconciliations give the
  mirror exactly the variances and totals a full read of the period gives;
- reconciling an unchanged period costs one change-feed read per entity type at most, as the
  sandbox's ``/_sandbox/usage`` meters it (QuickBooks: one CDC call for every type; Xero: one call
  per list), and no full read;
- a mark older than the change feed keeps (QuickBooks: 30 days) reads the period in full again,
  and a deletion made meanwhile is not hidden.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.reconcile.engine import ReconcileReport
from desktop.services.reconcile.ledger_read import LedgerReader
from desktop.services.reconcile.mirror import HORIZON, MirroredLedger
from desktop.services.store.models import LedgerMirrorState
from tests.helpers.reconcile import qbo_journal, qbo_memo, xero_journal, xero_note, xero_refs
from tests.helpers.sandbox import DEMO_COMPANIES
from tests.helpers.worlds import ADMIN, QBO_ORG, XERO_ORG, World, month_of

ORGS = [pytest.param(QBO_ORG, id="qbo"), pytest.param(XERO_ORG, id="xero")]


def _doc(world: World, org: str, amount: str = "40.00") -> tuple[str, dict[str, Any]]:
    if org == QBO_ORG:
        return "CreditMemo", qbo_memo(world, amount)
    return "CreditNote", xero_note(world, world_refs(world), amount)


def world_refs(world: World) -> dict[str, str]:
    refs = getattr(world, "_mirror_refs", None)
    if refs is None:
        refs = xero_refs(world)
        world._mirror_refs = refs  # type: ignore[attr-defined]
    return refs


def _journal(world: World, org: str) -> tuple[str, dict[str, Any]]:
    if org == QBO_ORG:
        return "JournalEntry", qbo_journal(world)
    return "ManualJournal", xero_journal(world, world_refs(world))


def _mirror(world: World, org: str) -> MirroredLedger:
    conn = world.connection_id(org)
    return MirroredLedger(world.db, world.clock, conn, world.connections.connector(conn))


def _full(world: World, org: str) -> ReconcileReport:
    """The same reconciliation over a full read of the period (what it did before the mirror)."""
    reader = LedgerReader(world.connections.connector(world.connection_id(org)))
    return world.reconcile.engine.reconcile(org, world.period, ledger=reader)


def _same(mirrored: ReconcileReport, full: ReconcileReport) -> None:
    def norm(r: ReconcileReport) -> list[str]:
        return sorted(repr(sorted(v.to_json().items())) for v in r.variances)

    assert norm(mirrored) == norm(full)
    assert mirrored.totals == full.totals
    assert mirrored.matched == full.matched


def _usage(world: World, org: str) -> dict[str, Any]:
    assert world.sandbox is not None
    platform, company = DEMO_COMPANIES[org]
    counts: dict[str, Any] = world.sandbox.control("GET", "usage")["services"].get(platform.value, {}).get(company, {})
    return counts


def _tamper(world: World, org: str, body: dict[str, Any], doc_type: str) -> dict[str, Any]:
    return world.tamper(org, {**body, "type": doc_type} if org == QBO_ORG else body)


@pytest.mark.db
@pytest.mark.parametrize("org", ORGS)
def test_the_mirror_kept_by_the_change_feed_finds_what_a_full_read_finds(recon: World, org: str) -> None:
    recon.connect(org, refresh_reference=False)
    kind, body = _doc(recon, org)
    _, edited, _ = recon.post(org, kind, body)
    _, voided, _ = recon.post(org, kind, _doc(recon, org)[1])
    _, kept, _ = recon.post(org, kind, _doc(recon, org)[1])
    jkind, jbody = _journal(recon, org)
    _, journal, _ = recon.post(org, jkind, jbody, role="fee_journal")
    mirror = _mirror(recon, org)
    first = recon.reconcile.engine.reconcile(org, recon.period, ledger=mirror)
    assert mirror.last.full_read and mirror.last.reason == "first"
    assert first.variances == [], [v.to_json() for v in first.variances]

    _tamper(recon, org, {"op": "edit", "id": edited, "set": {"total": "35.00"}}, kind)
    _tamper(recon, org, {"op": "void", "id": voided}, kind)
    # QuickBooks deletes journal entries; Xero only voids a posted journal.
    jop, jclass = ("delete", "deleted_in_ledger") if org == QBO_ORG else ("void", "voided_in_ledger")
    _tamper(recon, org, {"op": jop, "id": journal}, jkind)
    copy = _tamper(recon, org, {"op": "duplicate", "id": kept}, kind)
    _, orphan, _ = recon.post(org, kind, _doc(recon, org, "9.99")[1], record=False)
    _, late, _ = recon.post(org, kind, _doc(recon, org, "12.00")[1])  # posted after the first read

    mirrored = recon.reconcile.engine.reconcile(org, recon.period, ledger=_mirror(recon, org))
    full = _full(recon, org)
    _same(mirrored, full)
    found = {(v.variance_class.value, v.ledger_id) for v in mirrored.variances}
    assert found == {("amount_mismatch", edited), ("voided_in_ledger", voided), (jclass, journal),
                     ("duplicate_in_ledger", str(copy["id"])), ("missing_in_rms", orphan)}, found
    assert late not in {v.ledger_id for v in mirrored.variances}

    # Edited again, then the edit undone: the mirror follows each change, still as a full read does.
    _tamper(recon, org, {"op": "edit", "id": edited, "set": {"total": "40.00"}}, kind)
    again = recon.reconcile.run(org, recon.period, actor=ADMIN)
    _same(again, _full(recon, org))
    assert ("amount_mismatch", edited) not in {(v.variance_class.value, v.ledger_id) for v in again.variances}


@pytest.mark.db
@pytest.mark.parametrize("org", ORGS)
def test_an_unchanged_period_costs_one_change_feed_read_per_entity_type(recon: World, org: str) -> None:
    assert recon.sandbox is not None
    recon.connect(org, refresh_reference=False)
    for _ in range(3):
        recon.post(org, *_doc(recon, org))
    recon.reconcile.run(org, recon.period, actor=ADMIN)  # the first read fills the mirror

    recon.sandbox.control("DELETE", "usage")
    mirror = _mirror(recon, org)
    report = recon.reconcile.run(org, recon.period, actor=ADMIN, ledger=mirror)

    assert report.variances == [] and report.matched == 3
    assert not mirror.last.full_read and mirror.last.documents >= 3
    used = _usage(recon, org)
    if org == QBO_ORG:
        assert used["reads"] == 1 and used["kinds"] == {"cdc": 1}, used  # one CDC call covers every type
    else:
        assert used["reads"] == used["calls"] <= 4, used  # CreditNotes, ManualJournals, Payments, Invoices


@pytest.mark.db
@pytest.mark.parametrize("org", ORGS)
def test_a_mark_older_than_the_feed_keeps_reads_the_period_in_full_again(recon: World, org: str) -> None:
    recon.connect(org, refresh_reference=False)
    kind, body = _doc(recon, org)
    recon.post(org, kind, body)
    _, deleted, _ = recon.post(org, kind, _doc(recon, org)[1])
    jkind, jbody = _journal(recon, org)
    _, journal, _ = recon.post(org, jkind, jbody, role="fee_journal")
    recon.reconcile.run(org, recon.period, actor=ADMIN)
    conn = recon.connection_id(org)
    old = (recon.clock.now() - timedelta(days=40)).isoformat()
    with recon.db.write_session() as s:  # as if no reconciliation had run for 40 days
        s.execute(sa.update(LedgerMirrorState).where(LedgerMirrorState.connection_id == conn).values(cursor=old))
    # Taken back meanwhile (QuickBooks deletes the journal: gone from its lists; Xero voids it).
    _tamper(recon, org, {"op": "delete" if org == QBO_ORG else "void", "id": journal}, jkind)
    _tamper(recon, org, {"op": "void", "id": deleted}, kind)

    mirror = _mirror(recon, org)
    report = recon.reconcile.engine.reconcile(org, recon.period, ledger=mirror)

    window = mirror._ledger.profile.change_window
    if window is not None:  # the feed no longer reaches the mark: read in full
        assert mirror.last.full_read and mirror.last.reason == "window"
    _same(report, _full(recon, org))
    classes = {(v.variance_class.value, v.ledger_id) for v in report.variances}
    assert ("voided_in_ledger", deleted) in classes
    assert any(ident == journal for _, ident in classes), classes
    with recon.db.session() as s:
        state = s.get(LedgerMirrorState, conn)
        assert state is not None and state.cursor != old


@pytest.mark.db
def test_a_past_period_is_read_as_it_is_and_the_current_one_ahead(recon: World) -> None:
    recon.connect(QBO_ORG, refresh_reference=False)
    last_month = month_of(recon.period.start - timedelta(days=1))
    past = month_of(last_month.start - timedelta(days=1))  # closed well before today, whatever today is
    mirror = _mirror(recon, QBO_ORG)
    recon.reconcile.engine.reconcile(QBO_ORG, past, ledger=mirror)
    assert mirror.last.full_read and mirror.last.reason == "first"
    conn = recon.connection_id(QBO_ORG)

    def covered() -> list[list[str]]:
        with recon.db.session() as s:
            state = s.get(LedgerMirrorState, conn)
            assert state is not None
            return list(state.covered)

    assert covered() == [[past.start.isoformat(), past.end.isoformat()]]  # a closed month: no read ahead

    current = _mirror(recon, QBO_ORG)
    recon.reconcile.engine.reconcile(QBO_ORG, recon.period, ledger=current)
    assert current.last.full_read and current.last.reason == "uncovered"
    assert covered() == [[past.start.isoformat(), past.end.isoformat()],
                         [recon.period.start.isoformat(), (recon.period.end + HORIZON).isoformat()]]  # read ahead
    again = _mirror(recon, QBO_ORG)
    recon.reconcile.engine.reconcile(QBO_ORG, recon.period, ledger=again)
    assert not again.last.full_read
