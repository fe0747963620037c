"""Regression: background operations must not end a Qt-side lifetime on a worker thread.

The intermittent segfault in ``--demo --screenshots``: a pool thread deleted the runner after
``run()``, and with it the last reference to the operation's relay ``QObject``; that QObject was
destroyed on the worker while the GUI thread was destroying the operation inside its own queued
slot (gdb: main thread in ``PySide::SignalManager::qt_metacall`` → ``~QObject`` →
``Sbk_GetPyOverride`` on the relay whose wrapper the worker was freeing). These tests hammer
operations while their parents are torn down, and check where everything an operation held is
released: the GUI thread, always.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter

from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from desktop.views.ops import Progress, run_in_background, running_operations

ROUNDS = 60
PER_ROUND = 25


class _Token:
    """Something the work's closure holds; records the thread that lets go of it."""

    def __init__(self, released_on: Counter[int]) -> None:
        weakref.finalize(self, lambda: released_on.update([threading.get_ident()]))


def test_work_closures_and_results_are_released_on_the_gui_thread(qtbot: QtBot) -> None:
    """Whatever the work captured or returned dies on the GUI thread, never on a pool thread.

    Before the fix the runner (deleted by the pool on its thread) owned the work function, so its
    closure — and anything Qt inside it — was freed on whichever thread let go last.
    """
    gui = threading.get_ident()
    released_on: Counter[int] = Counter()
    delivered: list[int] = []
    parent = QWidget()
    qtbot.addWidget(parent)
    for i in range(ROUNDS * PER_ROUND):
        token = _Token(released_on)

        def work(_p: Progress, token: _Token = token, i: int = i) -> tuple[int, _Token]:
            return i, _Token(released_on)

        run_in_background(parent, work, on_success=lambda r: delivered.append(r[0]))
        del token, work
    qtbot.waitUntil(lambda: len(delivered) == ROUNDS * PER_ROUND, timeout=20_000)
    QThreadPool.globalInstance().waitForDone(10_000)
    qtbot.waitUntil(lambda: sum(released_on.values()) == 2 * ROUNDS * PER_ROUND, timeout=10_000)
    assert released_on == Counter({gui: 2 * ROUNDS * PER_ROUND})
    assert running_operations() == 0


def test_parents_torn_down_while_operations_are_in_flight(qtbot: QtBot) -> None:
    """Pages come and go (the screenshot tour, closing the window) while their loads run.

    Each round starts operations that report progress and update a child label, then deletes the
    parent at once or once the first results have reached the label. Two in three operations are
    held until the parent is gone, so they certainly finish after it; the rest may finish before or
    after. The process must survive, every operation must finish, and no callback may reach a
    deleted widget.
    """
    shiboken = __import__("shiboken6")
    reached_dead: list[str] = []
    rounds_done: list[int] = []
    parents: list[QWidget] = []

    def start_round(n: int) -> None:
        parent = QWidget()
        label = QLabel(parent)
        parents.append(parent)
        parent_gone = threading.Event()

        def on_success(value: int) -> None:
            if not shiboken.isValid(label):
                reached_dead.append("success")
            else:
                label.setText(str(value))

        for i in range(PER_ROUND):
            def work(p: Progress, i: int = i) -> int:
                if i % 3:
                    assert parent_gone.wait(10), "the parent was never deleted"
                p.report(1, 2, "half")
                return i

            run_in_background(parent, work, on_success=on_success, on_progress=lambda u: label.setText(u.message))
        if n % 2 == 0:
            qtbot.waitUntil(lambda: label.text() != "", timeout=10_000)  # some work has reported back
        parent.deleteLater()
        qtbot.waitUntil(lambda: not shiboken.isValid(parent), timeout=10_000)
        parent_gone.set()
        rounds_done.append(n)

    for n in range(ROUNDS):
        start_round(n)
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=20_000)
    assert len(rounds_done) == ROUNDS
    assert reached_dead == []
    assert not any(shiboken.isValid(p) for p in parents)
