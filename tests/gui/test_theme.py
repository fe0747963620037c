"""Light/dark: palettes switch app-wide, follow the OS when asked, and keep text readable."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.views.main_window import MainWindow
from desktop.views.theme import COLOURS, Scheme, ThemeManager, ThemeMode


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    q = QColor(hex_colour)
    return 0.2126 * channel(q.red()) + 0.7152 * channel(q.green()) + 0.0722 * channel(q.blue())


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_text_meets_wcag_aa_contrast_in_both_schemes(scheme: Scheme) -> None:
    c = COLOURS[scheme]
    for background in ("window", "base", "card", "sidebar"):
        assert contrast(c["text"], c[background]) >= 7, background
        assert contrast(c["muted"], c[background]) >= 4.5, background
        assert contrast(c["faint"], c[background]) >= 3, background
    assert contrast(c["accent_text"], c["accent"]) >= 4.5
    assert contrast(c["sidebar_text"], c["sidebar"]) >= 7


def test_switching_dark_and_light_changes_the_application_palette(
        qtbot: QtBot, qapp: QApplication, theme: ThemeManager, window: MainWindow) -> None:
    assert theme.scheme is Scheme.LIGHT
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 200
    with qtbot.waitSignal(theme.scheme_changed, timeout=1000) as signal:
        theme.set_mode(ThemeMode.DARK)
    assert signal.args == ["dark"]
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 60
    assert qapp.palette().color(QPalette.ColorRole.WindowText).lightness() > 200
    table_base = window.log_dock.table.palette().color(QPalette.ColorRole.Base)
    assert table_base.name() == COLOURS[Scheme.DARK]["base"]
    assert COLOURS[Scheme.DARK]["sidebar"] in qapp.styleSheet()
    theme.set_mode(ThemeMode.LIGHT)
    table_base = window.log_dock.table.palette().color(QPalette.ColorRole.Base)
    assert table_base.name() == COLOURS[Scheme.LIGHT]["base"]


def test_system_mode_follows_the_os_colour_scheme(qtbot: QtBot, qapp: QApplication,
                                                  theme: ThemeManager) -> None:
    theme.set_mode(ThemeMode.SYSTEM)
    hints = qapp.styleHints()
    assert theme.scheme is (Scheme.DARK if hints.colorScheme() == Qt.ColorScheme.Dark else Scheme.LIGHT)
    # The OS announcing a change is delivered through the same slot colorSchemeChanged calls.
    theme._on_style_hints_color_scheme_changed(Qt.ColorScheme.Dark)
    assert theme.scheme is Scheme.DARK
    theme._on_style_hints_color_scheme_changed(Qt.ColorScheme.Light)
    assert theme.scheme is Scheme.LIGHT
    theme.set_mode(ThemeMode.DARK)  # a pinned choice ignores the OS
    theme._on_style_hints_color_scheme_changed(Qt.ColorScheme.Light)
    assert theme.scheme is Scheme.DARK


def test_settings_page_appearance_choice_applies_and_is_saved(
        qtbot: QtBot, theme: ThemeManager, window: MainWindow) -> None:
    page = window.pages[-1]
    combo = page.appearance  # type: ignore[attr-defined]
    combo.setCurrentIndex(combo.findData("dark"))
    assert theme.scheme is Scheme.DARK and theme.mode is ThemeMode.DARK
    assert window.context.settings.value("appearance/mode") == "dark"
