"""A disabled button or field looks unavailable on every page, in both schemes: the rules are part of
the app's own style sheet, so a page need not remember to add them."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desktop.views.theme import ThemeManager, ThemeMode


def _ink(image: QImage) -> QColor:
    """The colour furthest from the button's own background (its corner): the text."""
    back = image.pixelColor(image.width() // 2, 3)
    best, far = back, -1
    for x in range(0, image.width(), 2):
        for y in range(0, image.height(), 2):
            c = image.pixelColor(x, y)
            d = abs(c.red() - back.red()) + abs(c.green() - back.green()) + abs(c.blue() - back.blue())
            if d > far:
                best, far = c, d
    return best


@pytest.mark.parametrize("mode", [ThemeMode.LIGHT, ThemeMode.DARK])
@pytest.mark.parametrize("primary", [False, True], ids=["button", "primary"])
def test_a_disabled_button_looks_unlike_an_enabled_one(
        qtbot: QtBot, theme: ThemeManager, mode: ThemeMode, primary: bool) -> None:
    theme.set_mode(mode)
    page = QWidget()  # a page with no style sheet of its own
    qtbot.addWidget(page)
    row = QHBoxLayout(page)
    buttons = [QPushButton("Accept with note…"), QPushButton("Accept with note…")]
    for b in buttons:
        if primary:
            b.setObjectName("PrimaryButton")
        row.addWidget(b)
    buttons[1].setEnabled(False)
    page.show()
    qtbot.waitExposed(page)
    enabled, disabled = (_ink(b.grab().toImage()) for b in buttons)
    distance = (abs(enabled.red() - disabled.red()) + abs(enabled.green() - disabled.green())
                + abs(enabled.blue() - disabled.blue()))
    assert distance > 60, f"{mode.value} {'primary ' if primary else ''}text {enabled.name()} vs {disabled.name()}"


@pytest.mark.parametrize("mode", [ThemeMode.LIGHT, ThemeMode.DARK])
def test_disabled_fields_are_greyed_too(qtbot: QtBot, theme: ThemeManager, mode: ThemeMode) -> None:
    theme.set_mode(mode)
    page = QWidget()
    qtbot.addWidget(page)
    row = QHBoxLayout(page)
    edits = [QLineEdit("1.0925"), QLineEdit("1.0925")]
    combos = [QComboBox(), QComboBox()]
    for w in (*edits, *combos):
        if isinstance(w, QComboBox):
            w.addItem("KIWI-NZ")
        row.addWidget(w)
    edits[1].setEnabled(False)
    combos[1].setEnabled(False)
    page.show()
    qtbot.waitExposed(page)
    for on, off in (edits, combos):
        assert on.grab().toImage() != off.grab().toImage()
        assert _ink(on.grab().toImage()).name() != _ink(off.grab().toImage()).name()
