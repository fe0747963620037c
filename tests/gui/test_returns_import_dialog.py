"""Returns → "Import file…": the import runs off the GUI thread, the dialog shows the counts and the bar,
and Cancel stops at a batch boundary and says exactly what was saved and what was not read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.rms.file_import import ReturnsFileImport
from desktop.services.rms.ingest import IngestResult, IngestService
from desktop.services.rms.progress import IngestProgress
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.views.returns.import_flow import STEPS, ImportDialog
from tests.helpers.rms import T0
from tests.helpers.rms_files import ORG, held, make_import_org, write_export

OPERATOR = Actor("olivia", Role.OPERATOR)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    migrate.upgrade(url)
    database = Database(url)
    make_import_org(database)
    yield database
    database.dispose()


class PausingImport(ReturnsFileImport):
    """The real import, in batches of 10, that waits after batch ``pause_at`` until the test lets it go on
    (so the test presses Cancel at a known batch, whatever the machine's speed)."""

    def __init__(self, ingest: IngestService, pause_at: int) -> None:
        super().__init__(ingest)
        object.__setattr__(self, "paused", threading.Event())
        object.__setattr__(self, "go_on", threading.Event())
        object.__setattr__(self, "pause_at", pause_at)

    def run(self, actor: Actor, path: Path, org_code: str, *, progress: Any = None,
            cancelled: Any = None) -> IngestResult:
        from desktop.services.rms.file_import import import_file

        def report(p: IngestProgress) -> None:
            progress(p)
            if p.batches == self.pause_at:
                self.paused.set()
                assert self.go_on.wait(30), "the test never let the import go on"

        return import_file(self.ingest, path, org_code, actor, progress=report, cancelled=cancelled, batch_size=10)


def _importer(db: Database, pause_at: int = 0) -> PausingImport:
    return PausingImport(IngestService(db, EventBus(ManualClock(T0)), ManualClock(T0)), pause_at)


def test_the_dialog_shows_the_counts_and_the_outcome(qtbot, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = write_export(tmp_path / "acme.csv", 45, damaged=9)
    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = ImportDialog(parent, _importer(db), OPERATOR, export, ORG)

    dialog.start()

    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30_000)
    assert dialog.bar.value() == STEPS
    assert dialog.heading.text().startswith("Imported acme.csv into ACME-US: 45 records (40 ingested, 5 quarantined).")
    assert dialog.cancel_button.text() == "Close"
    assert held(db) == {"rows": 45, "quarantined": 5, "with_reason": 5}
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


def test_cancel_stops_after_the_batch_being_written_and_says_what_was_saved(qtbot, db: Database,  # type: ignore[no-untyped-def]
                                                                             tmp_path: Path) -> None:
    export = write_export(tmp_path / "acme.json", 45, damaged=9)
    importer = _importer(db, pause_at=2)
    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = ImportDialog(parent, importer, OPERATOR, export, ORG)
    dialog.start()
    qtbot.waitUntil(importer.paused.is_set, timeout=30_000)  # batch 2 is committed; batch 3 not yet read

    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.text() == "Stopping…" and not dialog.cancel_button.isEnabled()
    importer.go_on.set()

    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30_000)
    assert dialog.outcome is not None and dialog.outcome.cancelled
    assert dialog.heading.text() == (
        "Import of acme.json into ACME-US stopped: 20 records were saved (18 ingested, 2 quarantined); 25 records "
        "in the file were not read. Importing the same file again is safe: it skips what is saved.")
    assert held(db) == {"rows": 20, "quarantined": 2, "with_reason": 2}
    assert 0 < dialog.bar.value() < STEPS
    assert dialog.cancel_button.isEnabled() and dialog.cancel_button.text() == "Close"


def test_a_viewer_is_told_in_the_dialog(qtbot, db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = write_export(tmp_path / "acme.csv", 5)
    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = ImportDialog(parent, _importer(db), Actor("vera", Role.VIEWER), export, ORG)

    dialog.start()

    qtbot.waitUntil(lambda: dialog.failure is not None, timeout=30_000)
    assert dialog.heading.text().startswith("The import of acme.csv stopped: ")
    assert held(db)["rows"] == 0
