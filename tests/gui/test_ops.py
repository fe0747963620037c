"""The background-operation helper: outcomes and progress always arrive on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop.services.core.errors import NeedsPersonError
from desktop.views.ops import Progress, ProgressUpdate, run_in_background, running_operations
from desktop.views.ops_failure import FailureDialog
from tests.helpers.waiting import wait_until


@pytest.fixture
def parent(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def test_success_is_delivered_on_the_gui_thread(qtbot: QtBot, qapp: QApplication, parent: QWidget) -> None:
    worker_threads: list[int] = []
    results: list[tuple[int, bool]] = []

    def work(progress: Progress) -> int:
        worker_threads.append(threading.get_ident())
        return sum(range(1000))

    op = run_in_background(parent, work, label="add up",
                           on_success=lambda r: results.append((r, QThread.currentThread() is qapp.thread())))
    with qtbot.waitSignal(op.finished, timeout=5000):
        pass
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert results == [(499500, True)]
    assert worker_threads and worker_threads[0] != threading.get_ident()
    assert op.done and running_operations() == 0


def test_failure_goes_to_on_failure_on_the_gui_thread(qtbot: QtBot, qapp: QApplication,
                                                       parent: QWidget) -> None:
    failures: list[tuple[BaseException, bool]] = []

    def work(progress: Progress) -> None:
        raise NeedsPersonError("Account 4100 is archived", platform="Xero", platform_code="400",
                               platform_message="Account code is archived", action="pick another account")

    run_in_background(parent, work, on_success=lambda _r: pytest.fail("must not succeed"),
                      on_failure=lambda e: failures.append((e, QThread.currentThread() is qapp.thread())))
    qtbot.waitUntil(lambda: bool(failures), timeout=5000)
    exc, on_gui = failures[0]
    assert on_gui and isinstance(exc, NeedsPersonError)
    assert exc.user_message() == ("Account 4100 is archived (Xero 400: Account code is archived) "
                                  "— pick another account")


def test_default_failure_handler_shows_the_user_message(qtbot: QtBot, parent: QWidget) -> None:
    parent.show()

    def work(progress: Progress) -> None:
        raise NeedsPersonError("The period is closed", action="ask your accountant to reopen March")

    op = run_in_background(parent, work, on_success=lambda _r: None, label="post")
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    boxes = [w for w in parent.findChildren(FailureDialog)]
    assert len(boxes) == 1
    assert boxes[0].text() == "The period is closed — ask your accountant to reopen March"
    boxes[0].close()


def test_progress_arrives_on_the_gui_thread_coalesced_and_before_success(
        qtbot: QtBot, qapp: QApplication, parent: QWidget) -> None:
    seen: list[tuple[str, object, bool]] = []

    def work(progress: Progress) -> str:
        for i in range(1, 5001):
            progress.report(i, 5000, f"document {i}")
        return "done"

    def record(kind: str) -> Callable[[object], None]:
        return lambda value: seen.append((kind, value, QThread.currentThread() is qapp.thread()))

    run_in_background(parent, work, on_success=record("success"), on_progress=record("progress"))
    qtbot.waitUntil(lambda: any(kind == "success" for kind, _, _ in seen), timeout=5000)
    assert all(on_gui for _, _, on_gui in seen)
    progress = [v for kind, v, _ in seen if kind == "progress"]
    assert 1 <= len(progress) < 5000, "progress reports must be coalesced"
    assert progress[-1] == ProgressUpdate(5000, 5000, "document 5000")
    assert seen[-1][:2] == ("success", "done")
    dones = [p.done for p in progress if isinstance(p, ProgressUpdate)]
    assert dones == sorted(dones)


def test_callbacks_are_skipped_when_the_parent_is_gone(qtbot: QtBot) -> None:
    parent = QWidget()
    release = threading.Event()
    delivered: list[object] = []

    def work(progress: Progress) -> int:
        release.wait(5)
        return 1

    op = run_in_background(parent, work, on_success=delivered.append, on_failure=delivered.append)
    parent.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(parent), timeout=2000)
    release.set()
    qtbot.waitUntil(lambda: op.done, timeout=5000)
    assert delivered == []


def test_cancel_is_visible_to_the_work(qtbot: QtBot, parent: QWidget) -> None:
    started = threading.Event()
    results: list[str] = []

    def work(progress: Progress) -> str:
        started.set()
        wait_until(lambda: progress.cancelled, 5, what="the cancel to reach the work", interval=0.005)
        return "stopped"

    op = run_in_background(parent, work, on_success=results.append)
    assert started.wait(5)
    op.cancel()
    qtbot.waitUntil(lambda: results == ["stopped"], timeout=5000)


def test_must_be_started_from_the_gui_thread(parent: QWidget) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            run_in_background(parent, lambda _p: None, on_success=lambda _r: None)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=start)
    t.start()
    t.join()
    assert len(errors) == 1 and "GUI thread" in str(errors[0])
