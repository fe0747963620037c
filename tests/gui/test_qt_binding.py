"""Guards against a broken Qt binding release.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without owning a reference, so every
``signal.emit(...)`` from Python drops one reference to ``True`` until the interpreter aborts with
"bool_dealloc" — in this app, after tens of minutes of normal use. pyproject.toml excludes that
release; this test fails loudly if a broken binding ever comes back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication


class _Emitter(QObject):
    happened = Signal(int)


def test_emitting_a_signal_keeps_the_reference_count_of_true(qapp: QApplication) -> None:
    emitter = _Emitter()
    seen: list[int] = []
    emitter.happened.connect(seen.append)
    before = sys.getrefcount(True)
    for i in range(200):
        emitter.happened.emit(i)
    assert len(seen) == 200
    # A leak of one reference per emit would show as -200 (and, over a session, a fatal abort).
    assert sys.getrefcount(True) - before > -20
