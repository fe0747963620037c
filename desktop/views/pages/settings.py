"""Settings: appearance now; schedule, posting mode, alerts and users as they land."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QWidget

from desktop.views.pages.base import Card, Page, PageInfo, label
from desktop.views.theme import ThemeMode

_MODES = [("Follow the system", ThemeMode.SYSTEM), ("Light", ThemeMode.LIGHT), ("Dark", ThemeMode.DARK)]


class SettingsPage(Page):
    """Workstation settings. Appearance is stored in QSettings (never secrets there)."""

    info = PageInfo(
        key="settings", title="Settings", icon="settings",
        description=(
            "Sync schedule, posting mode (per return or daily summary), alerts, users and roles, and "
            "this workstation's appearance and database."
        ),
    )

    def build(self) -> None:
        card = Card()
        card.layout_.addWidget(label("This workstation", "SectionTitle"))
        card.layout_.addSpacing(8)
        form = QFormLayout()
        form.setHorizontalSpacing(28)
        form.setVerticalSpacing(12)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.appearance = QComboBox()
        self.appearance.setMinimumWidth(240)
        for text, mode in _MODES:
            self.appearance.addItem(text, mode.value)
        theme = self.context.theme
        if theme is not None:
            self.appearance.setCurrentIndex([m for _, m in _MODES].index(theme.mode))
        self.appearance.currentIndexChanged.connect(self._on_appearance_current_index_changed)
        self.appearance.setEnabled(theme is not None)
        rows: list[tuple[str, QWidget]] = [
            ("Appearance", self.appearance),
            ("Database", QLabel(self.context.database_label)),
            ("Data folder", QLabel(str(self.context.data_dir) if self.context.data_dir else "—")),
            ("Signed in as", QLabel(f"{self.context.user} ({self.context.role})")),
        ]
        for text, field in rows:
            if isinstance(field, QLabel):
                field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label(text, "FieldLabel"), field)
        card.layout_.addLayout(form)
        self.body.addWidget(card)
        self.body.addSpacing(20)
        self.add_empty_state(
            "Sync settings arrive with the scheduler",
            "Schedules, posting mode, alert recipients and user roles will be configured here, per "
            "organization where it matters.",
        )

    def _on_appearance_current_index_changed(self, index: int) -> None:
        mode = ThemeMode(self.appearance.itemData(index))
        if self.context.theme is not None:
            self.context.theme.set_mode(mode)
        self.context.settings.setValue("appearance/mode", mode.value)
