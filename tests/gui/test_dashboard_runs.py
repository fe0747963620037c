"""The dashboard's "Sync runs" card over the sandbox ledgers (real HTTP) and the app's own services.

A push run is posted by the sync engine; the card lists the runs the database holds and what the
selected one posted; "Undo run…" shows the dry run document by document, then undoes on a worker
thread and the list says what was taken back. A viewer gets the service's refusal, and with
maker-checker on the undo becomes a request a second person approves from the approvals card.
Pictures of the card (light and dark, small and large window) are written when ``RUNS_SHOTS``
names a folder.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QScrollArea, QWidget

from desktop.app import view_services
from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.store.models import OutboxStatus, SyncRun
from desktop.views.context import ShellContext
from desktop.views.dashboard.approvals import ApprovalsCard
from desktop.views.dashboard.runs import RunsCard
from desktop.views.ops_failure import FailureDialog
from desktop.views.pages.dashboard import DashboardPage
from desktop.views.theme import ThemeManager, ThemeMode
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.undo import PostedRun, ledger_by_key, live, outbox_statuses, post_a_run
from tests.helpers.worlds import ADMIN, VIEWER, World

MAKER, CHECKER = Actor("olga", Role.OPERATOR), Actor("otto", Role.OPERATOR)


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[World]:
    with World(f"sqlite:///{tmp_path / 'runs.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        w.wait_on_a_manual_clock()  # the app's throttle waits on the test's clock (roomy limits)
        yield w


def _context(world: World, tmp_path: Path, actor: Actor) -> ShellContext:
    services = view_services(world.db, world.clock, world.bus, mapping=world.mapping, connections=world.connections,
                             rms_client_for=lambda _org: world.rms)
    return ShellContext(settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
                        database_url=world.db_url, data_dir=world.data_dir, bus=world.bus, actor=actor,
                        user=actor.username, services=services)


def _card(qtbot, world: World, tmp_path: Path, actor: Actor, run: PostedRun) -> RunsCard:  # type: ignore[no-untyped-def]
    card = RunsCard(_context(world, tmp_path, actor).services.runs, actor)
    qtbot.addWidget(card)
    card.resize(1100, 420)
    card.show()
    card.reload(run.org)
    qtbot.waitUntil(lambda: bool(card.runs) and card.shown_run == run.run_id, timeout=10000)
    return card


def _confirm(qtbot, card: RunsCard) -> list[str]:  # type: ignore[no-untyped-def]
    card.dialog = None
    card.undo_button.click()
    qtbot.waitUntil(lambda: card.dialog is not None and card.dialog.isVisible(), timeout=10000)
    assert card.dialog is not None
    return card.dialog.lines()


def test_the_card_lists_the_runs_and_undoes_one_after_its_dry_run(  # type: ignore[no-untyped-def]
        qtbot, world: World, tmp_path: Path) -> None:
    run = post_a_run(world, Platform.QBO, 3)
    card = _card(qtbot, world, tmp_path, ADMIN, run)
    with world.db.session() as s:
        in_db = list(s.scalars(sa.select(SyncRun.id).where(SyncRun.kind == "push").order_by(SyncRun.id.desc())))
    assert [r.id for r in card.runs] == in_db and card.table.rowCount() == len(in_db)
    assert card.table.item(0, 0).text() == str(run.run_id) and card.table.item(0, 1).text() == run.org
    assert card.table.item(0, 4).text() == str(len(run.keys))
    assert card.details.rowCount() == len(run.keys)
    assert {card.details.item(r, 3).text() for r in range(len(run.keys))} == {"In the ledger"}

    lines = _confirm(qtbot, card)

    assert len(lines) == len(run.keys)
    assert all(line.startswith(("Void ", "Delete ")) for line in lines), lines
    assert {d.key for d in card.documents} == run.keys
    rmas = {d.rma for d in card.documents}
    assert all(any(rma in line for rma in rmas if rma) for line in lines)
    assert outbox_statuses(world, run.keys) == Counter({"posted": len(run.keys)}), "the dry run changed nothing"
    assert card.dialog is not None and not card.dialog.force.isVisibleTo(card.dialog), "nothing was edited"

    _picture(card.dialog, "runs-undo-dialog")
    card.dialog.undo_button.click()

    qtbot.waitUntil(lambda: card.status.text().startswith(f"Run {run.run_id} undone"), timeout=30000)
    qtbot.waitUntil(lambda: len(card.runs) == len(in_db) + 1 and card.runs[0].kind == "undo", timeout=10000)
    report = card.last_report
    assert report is not None and report.outcome == "done"
    assert report.counts.get("voided", 0) + report.counts.get("deleted", 0) == len(run.keys)
    assert card.status.text() == (f"Run {run.run_id} undone: {report.counts.get('voided')} voided, "
                                  f"{report.counts.get('deleted')} deleted, {run.returns} returns told to the RMS.")
    assert card.table.item(0, 4).text() == f"undo of run {run.run_id}"
    qtbot.waitUntil(lambda: {card.details.item(r, 3).text() for r in range(card.details.rowCount())}
                    == {"Taken back"}, timeout=10000)
    assert card.table.item(1, 4).text() == f"{len(run.keys)} · {len(run.keys)} taken back"
    assert outbox_statuses(world, run.keys) == Counter({OutboxStatus.VOIDED.value: len(run.keys)})
    assert not [k for k, v in ledger_by_key(world, run).items() if k in run.keys and live(v)]
    _picture(card, "runs-card-after-undo")


def test_a_document_edited_in_the_ledger_is_named_and_kept_unless_ticked(  # type: ignore[no-untyped-def]
        qtbot, world: World, tmp_path: Path) -> None:
    run = post_a_run(world, Platform.QBO, 3)
    target = next(d for k in sorted(run.keys) for d in ledger_by_key(world, run)[k] if d["type"] == "CreditMemo")
    world.tamper(run.org, {"op": "edit", "id": target["id"], "type": "CreditMemo", "set": {"total": "1.00"}})
    card = _card(qtbot, world, tmp_path, ADMIN, run)

    lines = _confirm(qtbot, card)

    [kept] = [line for line in lines if line.startswith("Keep ")]
    assert "edited in the ledger since it was posted (total" in kept and "Tick the box" in kept
    assert card.dialog is not None and card.dialog.force.isVisibleTo(card.dialog)
    _picture(card.dialog, "runs-undo-dialog-edited")
    card.dialog.force.setChecked(True)
    card.dialog.undo_button.click()

    qtbot.waitUntil(lambda: card.status.text().startswith(f"Run {run.run_id} undone"), timeout=30000)
    assert outbox_statuses(world, run.keys) == Counter({OutboxStatus.VOIDED.value: len(run.keys)})


def test_a_viewer_sees_the_dry_run_and_is_refused_by_the_service(  # type: ignore[no-untyped-def]
        qtbot, world: World, tmp_path: Path) -> None:
    run = post_a_run(world, Platform.QBO, 2)
    card = _card(qtbot, world, tmp_path, VIEWER, run)
    assert card.undo_button.isEnabled(), "the service decides, not the button"
    assert len(_confirm(qtbot, card)) == len(run.keys)
    assert card.dialog is not None

    card.dialog.undo_button.click()

    qtbot.waitUntil(lambda: card.status.text().startswith("Not undone"), timeout=10000)
    assert "victor is a viewer and may not post documents" in card.status.text()
    failure = [d for d in card.findChildren(FailureDialog) if d.isVisible()]
    assert failure, "the refusal is shown in the failure dialog too"
    assert outbox_statuses(world, run.keys) == Counter({"posted": len(run.keys)})


def test_with_maker_checker_the_undo_waits_and_the_approvals_card_approves_it(  # type: ignore[no-untyped-def]
        qtbot, world: World, tmp_path: Path) -> None:
    run = post_a_run(world, Platform.XERO, 2)
    checker_services = _context(world, tmp_path, CHECKER).services
    assert checker_services.approvals is not None
    checker_services.approvals.set_threshold(ADMIN, run.org, Decimal("0"))
    card = _card(qtbot, world, tmp_path, MAKER, run)
    _confirm(qtbot, card)
    assert card.dialog is not None

    card.dialog.undo_button.click()

    qtbot.waitUntil(lambda: "waits for a second person's approval" in card.status.text(), timeout=10000)
    assert outbox_statuses(world, run.keys) == Counter({"posted": len(run.keys)})

    approvals = ApprovalsCard(checker_services.approvals, CHECKER)
    qtbot.addWidget(approvals)
    approvals.show()
    approvals.reload()
    qtbot.waitUntil(lambda: len(approvals.rows) == 1, timeout=10000)
    approvals.table.selectRow(0)
    approvals.approve_button.click()
    assert approvals.dialog is not None
    approvals.dialog.setTextValue("checked the run")
    approvals.dialog.accept()

    qtbot.waitUntil(lambda: outbox_statuses(world, run.keys) == Counter({OutboxStatus.VOIDED.value: len(run.keys)}),
                    timeout=30000)
    qtbot.waitUntil(lambda: not approvals.rows, timeout=10000)


def test_the_dashboard_shows_the_organizations_runs(  # type: ignore[no-untyped-def]
        qtbot, world: World, tmp_path: Path, theme: ThemeManager) -> None:
    run = post_a_run(world, Platform.QBO, 3)
    page = DashboardPage(_context(world, tmp_path, ADMIN))
    qtbot.addWidget(page)
    page.resize(1024, 700)
    page.show()
    qtbot.waitUntil(lambda: page.runs_card.shown_run == run.run_id, timeout=10000)
    assert page.runs_card.isVisible() and page.runs_card.org == run.org
    folder = os.environ.get("RUNS_SHOTS")
    if not folder:
        return
    for mode in (ThemeMode.LIGHT, ThemeMode.DARK):
        theme.set_mode(mode)
        for w, h in ((1024, 700), (1600, 1000)):
            page.resize(w, h)
            scroll = page.findChild(QScrollArea, "PageScroll")
            assert scroll is not None
            scroll.ensureWidgetVisible(page.runs_card, 0, 0)
            qtbot.waitUntil(lambda: page.runs_card.visibleRegion().boundingRect().height() > 200, timeout=5000)
            page.grab().save(str(Path(folder) / f"runs-dashboard-{mode.value}-{w}x{h}.png"))
        page.runs_card.undo_button.click()
        qtbot.waitUntil(lambda: page.runs_card.dialog is not None and page.runs_card.dialog.isVisible(),
                        timeout=10000)
        assert page.runs_card.dialog is not None
        _picture(page.runs_card.dialog, f"runs-undo-dialog-{mode.value}")
        page.runs_card.dialog.reject()
        page.runs_card.dialog = None


def _picture(widget: QWidget, name: str) -> None:
    """``widget`` as a PNG when ``RUNS_SHOTS`` names a folder."""
    folder = os.environ.get("RUNS_SHOTS")
    if folder:
        widget.grab().save(str(Path(folder) / f"{name}.png"))
