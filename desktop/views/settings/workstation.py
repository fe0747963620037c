"""Settings → This workstation: appearance, closing to the tray, and where this window's data lives.

Nothing here calls a service: the choices are this computer's (``QSettings``) and the theme's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QWidget

from desktop.views.context import ShellContext
from desktop.views.pages.base import Card, label
from desktop.views.theme import ThemeMode
from desktop.views.tray import CLOSE_TO_TRAY_KEY

__all__ = ["WorkstationCard"]

_MODES = [("Follow the system", ThemeMode.SYSTEM), ("Light", ThemeMode.LIGHT), ("Dark", ThemeMode.DARK)]


class WorkstationCard(Card):
    """The "This workstation" card; changes apply and are remembered at once."""

    def __init__(self, context: ShellContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.layout_.addWidget(label("This workstation", "SectionTitle"))
        self.layout_.addSpacing(8)
        form = QFormLayout()
        form.setHorizontalSpacing(28)
        form.setVerticalSpacing(12)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.appearance = QComboBox()
        self.appearance.setMinimumWidth(240)
        for text, mode in _MODES:
            self.appearance.addItem(text, mode.value)
        theme = context.theme
        if theme is not None:
            self.appearance.setCurrentIndex([m for _, m in _MODES].index(theme.mode))
        self.appearance.currentIndexChanged.connect(self._on_appearance_current_index_changed)
        self.appearance.setEnabled(theme is not None)
        self.close_to_tray = QCheckBox("Keep syncing in the system tray when the window is closed")
        self.close_to_tray.setChecked(
            str(context.settings.value(CLOSE_TO_TRAY_KEY, "true")).lower() in ("true", "1"))
        self.close_to_tray.toggled.connect(
            lambda on: context.settings.setValue(CLOSE_TO_TRAY_KEY, "true" if on else "false"))
        who = context.actor.role.value if context.actor else context.role
        rows: list[tuple[str, QWidget]] = [
            ("Appearance", self.appearance),
            ("When closed", self.close_to_tray),
            ("Database", QLabel(context.database_label)),
            ("Data folder", QLabel(str(context.data_dir) if context.data_dir else "—")),
            ("Signed in as", QLabel(f"{context.user} ({who})")),
        ]
        for text, field in rows:
            if isinstance(field, QLabel):
                field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label(text, "FieldLabel"), field)
        self.layout_.addLayout(form)

    def _on_appearance_current_index_changed(self, index: int) -> None:
        mode = ThemeMode(self.appearance.itemData(index))
        if self.context.theme is not None:
            self.context.theme.set_mode(mode)
        self.context.settings.setValue("appearance/mode", mode.value)
