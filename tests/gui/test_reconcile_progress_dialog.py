"""Reconcile in the long-operation dialog: the phase counts, and Cancel between phases records nothing.

A real ReconcileService against the sandbox's QuickBooks company over HTTP. The run is held while
it reads the RMS mirror (an event in the engine's reader, on the worker) so Cancel is pressed at a
known phase; the next phase boundary stops it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSettings

from desktop.services.reconcile.engine import PHASES, ReconcileEngine
from desktop.services.store.models import ReconciliationRun
from desktop.views.pages.reconciliation import ReconciliationPage
from desktop.views.progress_dialog import OperationDialog
from tests.helpers.gui import page_context
from tests.helpers.reconcile import qbo_memo
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN, QBO_ORG, World


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[World]:
    with World(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        yield w


def test_reconcile_shows_its_phases_and_cancel_records_nothing(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    world.post(QBO_ORG, "CreditMemo", qbo_memo(world))
    reading, go = threading.Event(), threading.Event()
    real = ReconcileEngine.rms_returns

    def held(self: ReconcileEngine, *a: Any, **kw: Any) -> Any:
        reading.set()
        assert go.wait(30), "the test never let the run go on"
        return real(self, *a, **kw)

    monkeypatch.setattr(ReconcileEngine, "rms_returns", held)
    page = ReconciliationPage(page_context(world, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
                                           actor=ADMIN))
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.org == QBO_ORG and page.run_button.isEnabled(), timeout=10_000)
    try:
        page.run_button.click()
        assert reading.wait(30)
        dialog = page.run_dialog
        assert isinstance(dialog, OperationDialog) and dialog.isVisible()
        qtbot.waitUntil(lambda: dialog.bar.value() == 2 and dialog.bar.maximum() == PHASES, timeout=5000)
        assert dialog.bar.text() == f"2 of {PHASES}"
        assert dialog.counts.text() == f"{QBO_ORG}: reading the RMS mirror…"  # the ledger had every posted one
        dialog.cancel_button.click()
        assert dialog.heading.text() == f"Stopping the reconciliation of {QBO_ORG}; nothing will be recorded…"
    finally:
        go.set()
    qtbot.waitUntil(lambda: dialog.finished_text is not None, timeout=10_000)
    assert dialog.finished_text == (f"The reconciliation of {QBO_ORG} was stopped on request; nothing was recorded "
                                    "and the review queue is as it was — reconcile again when you are ready")
    assert page.run_button.isEnabled() and page.status_label.text() == "The reconciliation did not finish."
    with world.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ReconciliationRun)) == 0
