"""Light and dark appearance: a Fusion palette for each, plus one small app-wide style sheet.

The app follows the operating system's colour scheme (Qt 6.5+ ``QStyleHints.colorScheme()`` and
its ``colorSchemeChanged`` signal) unless the user pins light or dark in Settings. Both palettes are
built here, in one place, so contrast can be checked side by side; the QSS in
``resources/style/app.qss`` only adds what a palette cannot express (sidebar, cards, headings) and
takes its colours from the same table through ``$token`` placeholders.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from string import Template

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from desktop.views.resources import read_resource_text, resource_path

log = logging.getLogger(__name__)


class ThemeMode(StrEnum):
    """What the user chose: follow the OS, or pin one scheme."""

    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


class Scheme(StrEnum):
    """What is actually shown."""

    LIGHT = "light"
    DARK = "dark"


# One table of colours per scheme. Text/background pairs keep WCAG AA contrast (≥ 4.5:1).
COLOURS: dict[Scheme, dict[str, str]] = {
    Scheme.LIGHT: {
        "window": "#f4f6f9", "base": "#ffffff", "alt_base": "#f7f8fa", "text": "#1c2330",
        "muted": "#5b6676", "faint": "#747e8d", "border": "#dde2e8", "button": "#ffffff",
        "accent": "#2457d6", "accent_hover": "#1d49b8", "accent_text": "#ffffff",
        "accent_soft": "#e6edfc", "sidebar": "#eaeef3", "sidebar_text": "#2b3442",
        "card": "#ffffff", "tooltip": "#1c2330", "tooltip_text": "#f4f6f9",
        "link": "#2457d6", "disabled": "#a3abb7",
    },
    Scheme.DARK: {
        "window": "#1b1e24", "base": "#14161b", "alt_base": "#1a1d22", "text": "#e4e7ec",
        "muted": "#a0a9b6", "faint": "#737d8b", "border": "#2f353e", "button": "#272b33",
        "accent": "#6d96f2", "accent_hover": "#86a8f5", "accent_text": "#0e1320",
        "accent_soft": "#243252", "sidebar": "#15171c", "sidebar_text": "#d3d8df",
        "card": "#22262d", "tooltip": "#e4e7ec", "tooltip_text": "#1b1e24",
        "link": "#86a8f5", "disabled": "#5d6571",
    },
}


def build_palette(scheme: Scheme) -> QPalette:
    """A complete Fusion palette, so every standard widget is readable in either scheme."""
    c = {k: QColor(v) for k, v in COLOURS[scheme].items()}
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: c["window"], QPalette.ColorRole.WindowText: c["text"],
        QPalette.ColorRole.Base: c["base"], QPalette.ColorRole.AlternateBase: c["alt_base"],
        QPalette.ColorRole.Text: c["text"], QPalette.ColorRole.Button: c["button"],
        QPalette.ColorRole.ButtonText: c["text"], QPalette.ColorRole.BrightText: QColor("#ff5c5c"),
        QPalette.ColorRole.Highlight: c["accent"], QPalette.ColorRole.HighlightedText: c["accent_text"],
        QPalette.ColorRole.ToolTipBase: c["tooltip"], QPalette.ColorRole.ToolTipText: c["tooltip_text"],
        QPalette.ColorRole.PlaceholderText: c["faint"], QPalette.ColorRole.Link: c["link"],
        QPalette.ColorRole.LinkVisited: c["link"], QPalette.ColorRole.Light: c["base"],
        QPalette.ColorRole.Midlight: c["border"], QPalette.ColorRole.Mid: c["border"],
        QPalette.ColorRole.Dark: c["faint"], QPalette.ColorRole.Shadow: QColor("#000000"),
        QPalette.ColorRole.Accent: c["accent"],
    }
    for role, colour in roles.items():
        pal.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, c["disabled"])
    return pal


def build_style_sheet(scheme: Scheme) -> str:
    """The app QSS with this scheme's colours filled in."""
    chevron = resource_path(f"icons/chevron-down-{scheme.value}.svg").as_posix()
    check = resource_path(f"icons/check-{scheme.value}.svg").as_posix()
    sheet = Template(read_resource_text("style/app.qss")).substitute(COLOURS[scheme], chevron=chevron, check=check)
    return sheet + DISABLED_BUTTONS + DISABLED_FIELDS  # on every page, not only those that ask for it


def system_scheme() -> Scheme:
    """The OS's preference; unknown (e.g. offscreen, older desktops) counts as light."""
    hints = QGuiApplication.styleHints()
    return Scheme.DARK if hints.colorScheme() == Qt.ColorScheme.Dark else Scheme.LIGHT


class ThemeManager(QObject):
    """Applies palette + style sheet app-wide and re-applies when the OS scheme changes.

    Widgets that paint custom things (icons, illustrations) listen to :attr:`scheme_changed`
    and look up colours with :meth:`colour`.
    """

    scheme_changed = Signal(str)

    def __init__(self, app: QApplication, mode: ThemeMode = ThemeMode.SYSTEM) -> None:
        super().__init__(app)
        self._app = app
        self._mode = mode
        self._scheme: Scheme | None = None
        app.setStyle("Fusion")
        app.styleHints().colorSchemeChanged.connect(self._on_style_hints_color_scheme_changed)
        self._apply(self._resolve())

    @property
    def mode(self) -> ThemeMode:
        return self._mode

    @property
    def scheme(self) -> Scheme:
        assert self._scheme is not None
        return self._scheme

    def colour(self, name: str) -> QColor:
        return QColor(COLOURS[self.scheme][name])

    def set_mode(self, mode: ThemeMode) -> None:
        """Follow the OS (``SYSTEM``) or pin a scheme; takes effect immediately."""
        self._mode = mode
        self._apply(self._resolve())

    def detach(self) -> None:
        """Stop following the OS (tests build several managers on one QApplication)."""
        self._app.styleHints().colorSchemeChanged.disconnect(self._on_style_hints_color_scheme_changed)

    def _resolve(self) -> Scheme:
        if self._mode is ThemeMode.SYSTEM:
            return system_scheme()
        return Scheme(self._mode.value)

    def _on_style_hints_color_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        if self._mode is ThemeMode.SYSTEM:
            self._apply(Scheme.DARK if scheme == Qt.ColorScheme.Dark else Scheme.LIGHT)

    def _apply(self, scheme: Scheme) -> None:
        if scheme is self._scheme:
            return
        self._scheme = scheme
        self._app.setPalette(build_palette(scheme))
        self._app.setStyleSheet(build_style_sheet(scheme))
        log.debug("appearance: %s (%s mode)", scheme.value, self._mode.value)
        self.scheme_changed.emit(scheme.value)


#: The app style sheet's rules give buttons and fields one look whatever their state; a disabled action
#: must look unavailable (its tooltip says why). Palette roles keep it right in light and dark.
#: :func:`build_style_sheet` adds both to the app's sheet, so every page has them; the error log dock
#: and some pages also set them on themselves (harmless, the same rules).
DISABLED_BUTTONS = (
    "QPushButton:disabled { color: palette(dark); background: palette(window); border-color: palette(mid); }"
    "QPushButton#PrimaryButton:disabled { color: palette(dark); background: palette(mid);"
    " border-color: palette(mid); }")
DISABLED_FIELDS = ("QLineEdit:disabled, QComboBox:disabled { color: palette(dark); background: palette(window); "
                   "border-color: palette(mid); }")
