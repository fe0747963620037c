"""The error-log dock folds to its bar, comes back as it was left after a restart (folded or not,
shown or hidden, its height), and never takes more than a modest share of a small window."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from desktop.views.context import ShellContext
from desktop.views.event_log.fold import COLLAPSED_KEY, HEIGHT_KEY, MAX_SHARE
from desktop.views.main_window import MainWindow


def _window(qtbot: QtBot, shell_context: ShellContext, size: tuple[int, int] = (1024, 700)) -> MainWindow:
    win = MainWindow(shell_context)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.resize(*size)
    return win


def test_folding_keeps_the_bar_and_the_state_survives_a_restart(
        qtbot: QtBot, shell_context: ShellContext, settings: QSettings) -> None:
    first = _window(qtbot, shell_context)
    dock = first.log_dock
    first.resizeDocks([dock], [230], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: abs(dock.height() - 230) <= 2, timeout=3000)
    assert dock.fold_button.text() == "Collapse"
    qtbot.mouseClick(dock.fold_button, Qt.MouseButton.LeftButton)
    assert dock.collapsed and not dock.splitter.isVisible()
    assert dock.filter_edit.isVisible() and dock.fold_button.text() == "Expand"  # the bar stays
    qtbot.waitUntil(lambda: dock.height() < 100, timeout=3000)
    first.close()
    assert settings.value(COLLAPSED_KEY) in (True, "true") and abs(int(str(settings.value(HEIGHT_KEY))) - 230) <= 2

    second = _window(qtbot, shell_context)
    dock = second.log_dock
    assert dock.isVisible() and dock.collapsed and not dock.splitter.isVisible()
    qtbot.waitUntil(lambda: dock.height() < 100, timeout=3000)
    qtbot.mouseClick(dock.fold_button, Qt.MouseButton.LeftButton)  # unfolds to the height it had
    assert not dock.collapsed and dock.splitter.isVisible()
    qtbot.waitUntil(lambda: abs(dock.height() - 230) <= 2, timeout=3000)
    second.close()

    third = _window(qtbot, shell_context)
    assert not third.log_dock.collapsed and third.log_dock.splitter.isVisible()
    qtbot.waitUntil(lambda: abs(third.log_dock.height() - 230) <= 2, timeout=3000)


def test_a_hidden_dock_stays_hidden_and_unfolded_after_a_restart(
        qtbot: QtBot, shell_context: ShellContext) -> None:
    first = _window(qtbot, shell_context)
    first.toggle_log_action.trigger()  # View → Error log (Ctrl+L)
    assert not first.log_dock.isVisible()
    first.close()
    second = _window(qtbot, shell_context)
    assert not second.log_dock.isVisible() and not second.log_dock.collapsed
    second.toggle_log_action.trigger()
    qtbot.waitUntil(second.log_dock.isVisible, timeout=3000)


def test_the_dock_never_takes_half_a_small_window(qtbot: QtBot, shell_context: ShellContext) -> None:
    win = _window(qtbot, shell_context, (1024, 700))
    dock = win.log_dock
    qtbot.waitUntil(lambda: 0 < dock.height() <= 700 * MAX_SHARE, timeout=3000)
    # the window's own resize has arrived and been capped: nothing shrinks the drag below behind our back
    qtbot.waitUntil(lambda: win.height() == 700 and not dock.fold.settling(), timeout=3000)
    win.resizeDocks([dock], [420], Qt.Orientation.Vertical)  # dragged tall, then the window made smaller
    qtbot.waitUntil(lambda: dock.height() > 350, timeout=3000)
    win.resize(1000, 680)
    qtbot.waitUntil(lambda: dock.height() <= 680 * MAX_SHARE + 1, timeout=3000)
