"""Reconciliation against the emulated ledgers over real HTTP, on SQLite and PostgreSQL.

Acceptance (issue 7): after a clean sync there are no variances; then each tamper an accountant
can do — edit an amount, delete, void, duplicate, create an orphan, change the tax, move the date
across the period boundary — yields exactly that variance with its class, on QBO and on Xero, and
nothing else.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from desktop.services.core.events import EventKind
from desktop.services.store.models import VarianceStatus
from tests.helpers.cli import run_cli_here
from tests.helpers.reconcile import qbo_journal, qbo_memo, xero_journal, xero_note, xero_payment, xero_refs
from tests.helpers.worlds import ADMIN, QBO_ORG, XERO_ORG, World


def _classes(report: object) -> set[tuple[str, str | None]]:
    return {(v.variance_class.value, v.ledger_id) for v in report.variances}  # type: ignore[attr-defined]


@pytest.mark.db
def test_qbo_each_tamper_is_exactly_one_variance_of_its_class(recon: World) -> None:
    recon.connect(QBO_ORG, refresh_reference=False)
    _, ok, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, edited, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, deleted, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, voided, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, duplicated, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, taxed, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, moved, _ = recon.post(QBO_ORG, "JournalEntry", qbo_journal(recon), role="fee_journal")

    clean = recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN)
    assert clean.variances == [], [v.to_json() for v in clean.variances]
    assert clean.matched == 7

    recon.tamper(QBO_ORG, {"op": "edit", "id": edited, "type": "CreditMemo", "set": {"total": "35.00"}})
    recon.tamper(QBO_ORG, {"op": "delete", "id": deleted, "type": "CreditMemo"})
    recon.tamper(QBO_ORG, {"op": "void", "id": voided, "type": "CreditMemo"})
    copy = recon.tamper(QBO_ORG, {"op": "duplicate", "id": duplicated, "type": "CreditMemo"})
    _, orphan, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon, "9.99"), record=False)
    recon.tamper(QBO_ORG, {"op": "edit", "id": taxed, "type": "CreditMemo", "set": {"tax": "3.00"}})
    next_month = recon.period.end + timedelta(days=1)
    recon.tamper(QBO_ORG, {"op": "edit", "id": moved, "type": "JournalEntry", "set": {"date": next_month.isoformat()}})

    report = recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN)

    assert _classes(report) == {
        ("amount_mismatch", edited), ("deleted_in_ledger", deleted), ("voided_in_ledger", voided),
        ("duplicate_in_ledger", str(copy["id"])), ("missing_in_rms", orphan), ("tax_mismatch", taxed),
        ("date_mismatch", moved)}, [v.to_json() for v in report.variances]
    by_class = {v.variance_class.value: v for v in report.variances}
    assert by_class["amount_mismatch"].fields["total"] == {"rms": "40.00", "ledger": "35.00"}
    assert by_class["tax_mismatch"].fields["tax"] == {"rms": "0.00", "ledger": "3.00"}
    assert by_class["date_mismatch"].fields["date"]["moved_out_of_period"] is True
    assert by_class["amount_mismatch"].difference_minor == -500
    assert all(v.rma for v in report.variances if v.variance_class.value != "missing_in_rms")
    assert ("CreditMemo", ok) not in {(v.doc_type, v.ledger_id) for v in report.variances}


@pytest.mark.db
def test_xero_each_tamper_is_exactly_one_variance_of_its_class(recon: World) -> None:
    recon.connect(XERO_ORG, refresh_reference=False)
    refs = xero_refs(recon)
    _, ok, _ = recon.post(XERO_ORG, "CreditNote", xero_note(recon, refs))
    _, edited, _ = recon.post(XERO_ORG, "CreditNote", xero_note(recon, refs))
    _, paid_note, ret = recon.post(XERO_ORG, "CreditNote", xero_note(recon, refs), role="credit_note")
    _, payment, _ = recon.post(XERO_ORG, "Payment", xero_payment(recon, refs, paid_note), role="refund_payment",
                               return_id=ret)
    _, voided, _ = recon.post(XERO_ORG, "CreditNote", xero_note(recon, refs))
    _, duplicated, _ = recon.post(XERO_ORG, "CreditNote", xero_note(recon, refs))
    _, taxed, _ = recon.post(XERO_ORG, "CreditNote", xero_note(recon, refs))
    _, moved, _ = recon.post(XERO_ORG, "ManualJournal", xero_journal(recon, refs), role="fee_journal")

    clean = recon.reconcile.run(XERO_ORG, recon.period, actor=ADMIN)
    assert clean.variances == [], [v.to_json() for v in clean.variances]
    assert clean.matched == 8

    recon.tamper(XERO_ORG, {"op": "edit", "id": edited, "set": {"total": "45.00"}})
    recon.tamper(XERO_ORG, {"op": "delete", "id": payment})  # Xero deletes payments; approved notes only void
    recon.tamper(XERO_ORG, {"op": "void", "id": voided})
    copy = recon.tamper(XERO_ORG, {"op": "duplicate", "id": duplicated})
    _, orphan, _ = recon.post(XERO_ORG, "CreditNote", xero_note(recon, refs, "9.99"), record=False)
    recon.tamper(XERO_ORG, {"op": "edit", "id": taxed, "set": {"tax": "3.00"}})
    next_month = recon.period.end + timedelta(days=1)
    recon.tamper(XERO_ORG, {"op": "edit", "id": moved, "set": {"date": next_month.isoformat()}})

    report = recon.reconcile.run(XERO_ORG, recon.period, actor=ADMIN)

    assert _classes(report) == {
        ("amount_mismatch", edited), ("deleted_in_ledger", payment), ("voided_in_ledger", voided),
        ("duplicate_in_ledger", str(copy["id"])), ("missing_in_rms", orphan), ("tax_mismatch", taxed),
        ("date_mismatch", moved)}, [v.to_json() for v in report.variances]
    by_class = {v.variance_class.value: v for v in report.variances}
    assert by_class["amount_mismatch"].fields["total"] == {"rms": "50.00", "ledger": "45.00"}
    assert by_class["tax_mismatch"].fields["tax"]["ledger"] == "3.00"
    assert ("CreditNote", ok) not in {(v.doc_type, v.ledger_id) for v in report.variances}


@pytest.mark.db
def test_the_review_queue_keeps_one_entry_per_problem_and_closes_what_is_gone(recon: World) -> None:
    recon.connect(QBO_ORG, refresh_reference=False)
    _, edited, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, voided, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    recon.tamper(QBO_ORG, {"op": "edit", "id": edited, "type": "CreditMemo", "set": {"total": "41.00"}})
    recon.tamper(QBO_ORG, {"op": "void", "id": voided, "type": "CreditMemo"})

    recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN)
    first_events = [e for e in recon.events if e.kind == EventKind.RECONCILIATION_VARIANCE]
    assert len(first_events) == 2
    assert sorted(e.message.split(" — ")[0] for e in first_events) == [f"{QBO_ORG}: Amount differs",
                                                                       f"{QBO_ORG}: Voided in ledger"]
    assert sorted(e.message.split(" — ")[1].split(" for ")[0] for e in first_events) == sorted([
        f"Credit memo {edited}", f"Credit memo {voided}"])
    recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN)  # the same two problems: no new entries, no new events
    assert len([e for e in recon.events if e.kind == EventKind.RECONCILIATION_VARIANCE]) == 2
    queue = recon.reconcile.queue(QBO_ORG)
    assert sorted(v["class"] for v in queue) == ["amount_mismatch", "voided_in_ledger"]

    void_id = next(v["id"] for v in queue if v["class"] == "voided_in_ledger")
    recon.reconcile.accept(ADMIN, void_id, "voided on purpose: customer kept the goods")
    recon.tamper(QBO_ORG, {"op": "edit", "id": edited, "type": "CreditMemo", "set": {"total": "40.00"}})
    recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN)

    assert recon.reconcile.queue(QBO_ORG) == []
    accepted = recon.reconcile.queue(QBO_ORG, VarianceStatus.ACCEPTED)
    resolved = recon.reconcile.queue(QBO_ORG, VarianceStatus.RESOLVED)
    assert [v["class"] for v in accepted] == ["voided_in_ledger"] and accepted[0]["resolved_by"] == "alice"
    assert [v["class"] for v in resolved] == ["amount_mismatch"] and resolved[0]["resolved_by"] == "system"
    assert len([e for e in recon.events if e.kind == EventKind.RECONCILIATION_VARIANCE]) == 2


@pytest.mark.db
@pytest.mark.slow
def test_the_cli_prints_the_variances_and_the_metrics_as_json(recon: World, db_url: str, tmp_path: Path) -> None:
    recon.connect(QBO_ORG, refresh_reference=False)
    _, ok, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    _, edited, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN)  # both verified equal
    recon.tamper(QBO_ORG, {"op": "edit", "id": edited, "type": "CreditMemo", "set": {"total": "39.99"}})

    def cli(*args: str) -> dict[str, Any]:
        # through the CLI's own main() in this process: the process boundary is not what is tested
        done = run_cli_here(*args, "--db", db_url, "--data-dir", str(tmp_path), "--json")
        assert done.returncode == 0, done.stderr
        out: dict[str, Any] = json.loads(done.stdout, parse_float=Decimal)
        return out

    data = cli("reconcile", "--org", QBO_ORG, "--from", recon.period.start.isoformat(),
               "--to", recon.period.end.isoformat())
    assert (data["org"], data["from"], data["to"]) == (QBO_ORG, recon.period.start.isoformat(),
                                                      recon.period.end.isoformat())
    # one cent on a one-line document is within the USD rounding tolerance
    assert [(v["class"], v["ledger_id"]) for v in data["variances"]] == [("rounding", edited)]
    variance = data["variances"][0]
    assert variance["rma"] and variance["fields"]["total"] == {"rms": "40.00", "ledger": "39.99"}
    assert data["totals"]["by_currency"]["USD"]["local"] == "80.00"
    assert data["totals"]["by_currency"]["USD"]["ledger"] == "79.99"

    metrics = cli("metrics", "--org", QBO_ORG)
    month = f"{recon.today.year:04d}-{recon.today.month:02d}"
    [row] = [m for m in metrics["months"] if m["period"] == month]
    # two due and posted; the first run verified both, but the edited one has an open variance now
    assert (row["due"], row["posted"]) == (2, 2)
    assert row["verified"] == 1 and row["accuracy_pct"] == "50.00"
    assert row["reconcile_median_s"] is not None and row["reconcile_median_s"] >= 0
    assert ok

    [queued] = cli("variances", "list", "--org", QBO_ORG)["variances"]
    assert (queued["class"], queued["ledger_id"], queued["status"]) == ("rounding", edited, "open")
    assert cli("variances", "accept", "--id", str(queued["id"]), "--note", "a cent")["status"] == "accepted"
    assert cli("variances", "list", "--org", QBO_ORG)["variances"] == []
    [accepted] = cli("variances", "list", "--org", QBO_ORG, "--status", "accepted")["variances"]
    assert accepted["note"] == "a cent" and accepted["resolved_by"]
    row = next(m for m in cli("metrics", "--org", QBO_ORG)["months"] if m["period"] == month)
    assert row["verified"] == 2 and row["accuracy_pct"] == "100.00"  # accepted: a person said the ledger is right


@pytest.mark.db
def test_on_request_the_rms_api_itself_is_compared_with_the_mirror(recon: World) -> None:
    """Returns the RMS has and the mirror lacks (or holds at an older revision) are missing in the
    ledger; the ones the mirror holds at the RMS's revision are not."""
    from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle
    from desktop.services.reconcile.model import Period
    from desktop.services.reconcile.service import ReconcileService
    from desktop.services.rms.client import RmsClient
    recon.connect(QBO_ORG, refresh_reference=False)
    info = recon.sandbox.info["rms"]
    http = LedgerHttp(throttle=Throttle(per_minute=600, concurrent=4), platform="rms", sleep=lambda _s: None,
                      retry=RetryPolicy(max_attempts=2, base_delay_s=0.01))
    client = RmsClient(info["base_url"], info["api_key"], http=http)
    returns: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = client.changes(cursor, 200, organization=QBO_ORG)
        returns += page.returns
        cursor = page.next_cursor
        if not page.has_more:
            break
    latest: dict[str, dict[str, Any]] = {}
    for r in returns:
        if r["revision"] >= latest.get(r["id"], {"revision": -1})["revision"]:
            latest[r["id"]] = r
    days = sorted(r["created_at"][:10] for r in latest.values())
    period = Period(date.fromisoformat(days[0]), date.fromisoformat(days[-1]))
    mirrored = sorted(latest)[:3]
    for rid in mirrored:  # in the mirror at the RMS's revision, each with its posted credit memo
        r = latest[rid]
        ret = recon.add_return(QBO_ORG, rms_id=rid, rma=r["rma_number"], total=Decimal("40.00"), currency="USD")
        with recon.db.write_session() as s:
            from desktop.services.store.models import Return as ReturnRow
            row = s.get(ReturnRow, ret)
            assert row is not None
            row.revision = int(r["revision"])

    service = ReconcileService(recon.db, recon.bus, recon.clock, recon.connections, rms_api_for=lambda _o: client)
    report = service.run(QBO_ORG, period, actor=ADMIN, check_rms_api=True)

    from_api = [v for v in report.variances if "revision" in v.fields]
    assert {v.rma for v in from_api} == {latest[rid]["rma_number"] for rid in latest if rid not in mirrored}
    assert all(v.variance_class.value == "missing_in_ledger" and v.fields["revision"]["mirror"] is None
               for v in from_api)
    # the mirrored ones have no documents: the mirror side reports them (dated today, if in the period)
    others = [v for v in report.variances if "revision" not in v.fields]
    assert {v.rma for v in others} <= {latest[rid]["rma_number"] for rid in mirrored}
