"""The GUI's error boundary: a failed operation or an uncaught exception is shown in explain()'s
words — what happened and what to do — with a crash report for a bug; never a traceback."""

from __future__ import annotations

import errno
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy.exc
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from desktop.services.core.errors import ErrorKind, NeedsPersonError
from desktop.services.core.failures import explain
from desktop.views.ops import Progress, run_in_background
from desktop.views.ops_failure import FailureDialog, OperationFailed, install_error_boundary
from desktop.views.theme import ThemeManager, ThemeMode

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJybHMifQ.c2lnbmF0dXJl"


@pytest.fixture
def crash_dir(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "crash-reports"
    restore = install_error_boundary(where)
    yield where
    restore()


@pytest.fixture
def page(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    widget.resize(900, 600)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _disk_full() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", "/data/exports/returns.csv")


def _db_locked() -> Exception:
    return sqlalchemy.exc.OperationalError("UPDATE outbox_documents SET status=?", {},
                                           sqlite3.OperationalError("database is locked"))


def _bug() -> Exception:
    return KeyError(f"refresh_token={TOKEN}")


def _fail_with(qtbot: QtBot, parent: QWidget, make: Callable[[], BaseException], label: str,
               on_failure: Callable[[BaseException], None] | None = None) -> FailureDialog | None:
    def work(_progress: Progress) -> None:
        raise make()

    op = run_in_background(parent, work, on_success=lambda _r: pytest.fail("must not succeed"),
                           on_failure=on_failure, label=label)
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    dialogs = parent.findChildren(FailureDialog)
    return dialogs[0] if dialogs else None


@pytest.mark.parametrize("make", [_disk_full, _db_locked], ids=["disk-full", "database-locked"])
def test_an_expected_failure_shows_explains_message_and_what_to_do(qtbot: QtBot, page: QWidget, crash_dir: Path,
                                                                    make: Callable[[], BaseException]) -> None:
    expected = explain(make(), gui=True)

    dialog = _fail_with(qtbot, page, make, "Export to returns.csv")

    assert dialog is not None and dialog.isVisible()
    assert dialog.text() == expected.text()
    assert dialog.headline.text() == expected.message
    assert expected.action is not None and dialog.action.text().lower().startswith(expected.action.lower())
    assert dialog.context.text() == "Task: Export to returns.csv"
    assert dialog.copy_button is None and not dialog.report_label.isVisible()
    assert not crash_dir.exists(), "an expected failure is not a crash"
    shown = " ".join(w.text() for w in dialog.findChildren(QLabel))
    assert "Errno" not in shown and "Traceback" not in shown and "sqlite3" not in shown
    dialog.close()


@pytest.mark.allow_log_warnings  # a bug is logged at ERROR with its traceback, as it must be
def test_a_bug_shows_a_clear_message_and_writes_a_redacted_crash_report(qtbot: QtBot, page: QWidget,
                                                                         crash_dir: Path) -> None:
    expected = explain(_bug())
    assert expected.unexpected

    dialog = _fail_with(qtbot, page, _bug, "Sync now")

    assert dialog is not None and dialog.windowTitle() == "Something went wrong"
    [report] = crash_dir.glob("crash-*.txt")
    assert dialog.headline.text() == expected.message
    assert dialog.text() == f"{expected.text()} ({report})"
    assert dialog.report_label.text() == f"Crash report: {report}" and dialog.report_label.isVisible()
    assert dialog.copy_button is not None and dialog.open_button is not None
    text = report.read_text(encoding="utf-8")
    assert "While: Sync now" in text and "Traceback" in text and "KeyError" in text
    assert TOKEN not in text
    assert all(TOKEN not in w.text() and "Traceback" not in w.text() for w in dialog.findChildren(QLabel))
    dialog.copy_button.click()
    assert str(report) in dialog.details()
    dialog.close()


@pytest.mark.allow_log_warnings
def test_a_page_that_handles_the_failure_itself_gets_explains_words(qtbot: QtBot, page: QWidget,
                                                                    crash_dir: Path) -> None:
    status = QLabel(page)
    seen: list[BaseException] = []

    def say(exc: BaseException) -> None:  # what the pages do: put str(exc) in their status line
        seen.append(exc)
        status.setText(str(exc))

    for make in (_disk_full, _db_locked, _bug):
        assert _fail_with(qtbot, page, make, "export returns", on_failure=say) is None
        assert isinstance(seen[-1], OperationFailed) and isinstance(seen[-1].__cause__, type(make()))
        assert status.text().startswith(explain(make(), gui=True).text())
        assert "Errno" not in status.text() and TOKEN not in status.text()
    assert seen[-1].kind is ErrorKind.FATAL and len(list(crash_dir.glob("crash-*.txt"))) == 1

    # A service's own refusal is passed on as raised: its words are already for a person.
    refusal = NeedsPersonError("The period is closed", action="ask your accountant to reopen March")
    _fail_with(qtbot, page, lambda: refusal, "Re-post", on_failure=say)
    assert seen[-1] is refusal


@pytest.mark.allow_log_warnings
def test_an_exception_escaping_a_slot_opens_the_dialog_once(qtbot: QtBot, page: QWidget, crash_dir: Path) -> None:
    button = QPushButton("Refresh", page)
    button.clicked.connect(lambda: {}["missing key"])  # a bug in a slot, on the GUI thread
    assert sys.excepthook is not sys.__excepthook__

    button.click()
    button.click()  # the same bug again: no second dialog, no second report

    dialogs = {w for w in [*QApplication.topLevelWidgets(), *page.findChildren(FailureDialog)]
               if isinstance(w, FailureDialog) and w.isVisible()}
    assert len(dialogs) == 1
    [dialog] = dialogs
    assert dialog.headline.text() == explain(KeyError("x")).message
    assert len(list(crash_dir.glob("crash-*.txt"))) == 1
    dialog.close()


@pytest.mark.allow_log_warnings
@pytest.mark.parametrize("mode", [ThemeMode.LIGHT, ThemeMode.DARK], ids=["light", "dark"])
def test_the_dialog_reads_well_small_and_large(qtbot: QtBot, page: QWidget, crash_dir: Path, theme: ThemeManager,
                                               mode: ThemeMode, tmp_path: Path) -> None:
    theme.set_mode(mode)
    layout = QVBoxLayout(page)
    layout.addWidget(QLabel("Returns"))
    for name, make in (("disk-full", _disk_full), ("bug", _bug)):
        dialog = _fail_with(qtbot, page, make, "Export to returns.csv")
        assert dialog is not None
        qtbot.waitExposed(dialog)
        for size, (width, height) in (("small", (dialog.minimumWidth(), dialog.minimumSizeHint().height())),
                                      ("large", (720, 360))):
            dialog.resize(width, height)
            qtbot.waitUntil(lambda w=width, d=dialog: d.width() == w and d.height() >= d.minimumHeight(),
                            timeout=2000)
            # Nothing is cut off: every text fits the width it was given, at its wrapped height.
            for label in (dialog.headline, dialog.action, dialog.context, dialog.report_label):
                if label.isVisible():
                    assert label.height() >= label.heightForWidth(label.width()), (size, label.objectName())
                    assert label.geometry().right() <= dialog.width()
            shot = dialog.grab()
            assert not shot.isNull() and shot.width() >= width
            assert shot.save(str(tmp_path / f"failure-{name}-{mode.value}-{size}.png"))
        dialog.close()
