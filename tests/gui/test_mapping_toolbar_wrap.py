"""The Mappings page's toolbar at a small window: the actions move to a line of their own instead of
pushing Save off the page (at 1024 × 700 the page scrolled sideways and Save was out of sight)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit

from desktop.views.mapping.editor import MappingEditor
from desktop.views.mapping.widgets import WrapBar


def _bar(editor: MappingEditor) -> WrapBar:
    bar = editor.findChild(WrapBar)
    assert bar is not None
    return bar


def test_the_toolbar_wraps_its_actions_when_narrow_and_keeps_one_line_when_wide(qtbot: Any) -> None:
    editor = MappingEditor(None)
    qtbot.addWidget(editor)
    bar = _bar(editor)
    one_line = bar.one_line_width()
    assert bar.minimumSizeHint().width() < one_line  # the page may be narrower than the one line

    editor.resize(one_line + 200, 700)
    editor.show()
    qtbot.waitUntil(lambda: bar.wrapped is False)
    save = editor.buttons["save"]
    assert save.geometry().top() == editor.buttons["undo"].geometry().top()

    editor.resize(bar.minimumSizeHint().width() + 20, 700)
    qtbot.waitUntil(lambda: bar.wrapped is True)
    qtbot.waitUntil(lambda: bar.tail.geometry().top() > bar.lead.geometry().top())
    right = save.mapTo(editor, save.rect().bottomRight()).x()
    assert right <= editor.width(), (right, editor.width())  # Save stays on the page


def test_a_part_that_grows_after_layout_wraps_without_a_resize(qtbot: Any) -> None:
    bar = WrapBar(8)
    qtbot.addWidget(bar)
    title = QLabel("Ledger")
    bar.lead_row.addWidget(title)
    bar.tail_row.addWidget(QLineEdit())
    bar.setFixedWidth(bar.one_line_width() + 40)  # its width never changes: no resize event to react to
    bar.show()
    qtbot.waitUntil(lambda: bar.wrapped is False)
    title.setText("QuickBooks Online · chart of accounts and more")  # as when the chart arrives
    qtbot.waitUntil(lambda: bar.wrapped is True)
