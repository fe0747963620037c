"""The panel beside the grid: everything about the selected connection, in plain words.

Fed with a summary at once (no waiting to show the basics) and with the details — scopes, the
last error with the platform's code, cached reference-data counts — when the page's background
read returns.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from desktop.services.auth.platforms import environment_label, platform_label
from desktop.services.connections.details import ConnectionDetails
from desktop.services.connections.service import ConnectionSummary
from desktop.views.connections.model import STATES, local_time, state_label
from desktop.views.pages.base import Card, label


class DetailsPanel(Card):
    """Facts about one connection; shows a hint when nothing is selected."""

    LEFT = ("Organization", "Ledger", "Company", "Company ID", "Status")
    RIGHT = ("Connected", "Scopes", "Cached", "Fetched", "Last error")
    FIELDS = LEFT + RIGHT

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.title = label("Details", "SectionTitle")
        self.hint = label("Select a connection to see its company, scopes, cached reference data and last error.",
                          "CardHint", wrap=True)
        self.layout_.addWidget(self.title)
        self.layout_.addSpacing(6)
        self.layout_.addWidget(self.hint)
        self.form_host = QWidget()
        grid = QGridLayout(self.form_host)
        grid.setContentsMargins(0, 4, 0, 0)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(7)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        grid.setColumnMinimumWidth(2, 110)
        self.values: dict[str, QLabel] = {}
        for column, names in ((0, self.LEFT), (2, self.RIGHT)):
            for row, name in enumerate(names):
                value = QLabel("—")
                value.setWordWrap(True)
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                value.setObjectName("DetailValue")
                value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                self.values[name] = value
                key = label(name, "FieldLabel")
                key.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                grid.addWidget(key, row, column)
                grid.addWidget(value, row, column + 1)
        self.layout_.addWidget(self.form_host)
        self.form_host.setVisible(False)
        self.summary: ConnectionSummary | None = None

    def show_summary(self, summary: ConnectionSummary | None) -> None:
        """Show what the summary knows; the rest says "loading" until :meth:`show_details`."""
        self.summary = summary
        self.hint.setVisible(summary is None)
        self.form_host.setVisible(summary is not None)
        if summary is None:
            self.title.setText("Details")
            return
        self.title.setText(summary.company_name or summary.company_id)
        colour = STATES.get(summary.state, ("", "#7b8594"))[1]
        self.values["Organization"].setText(f"{summary.org_code} · {summary.org_name}"
                                            if summary.org_name and summary.org_name != summary.org_code
                                            else summary.org_code)
        self.values["Ledger"].setText(f"{platform_label(summary.platform)} · {environment_label(summary.environment)}")
        self.values["Company"].setText(summary.company_name or "—")
        self.values["Company ID"].setText(summary.company_id)
        self.values["Status"].setText(f"<b style='color:{colour}'>{state_label(summary.state)}</b>"
                                      + (f" — {summary.state_text}" if summary.state_text != state_label(summary.state)
                                         else ""))
        self.values["Fetched"].setText(local_time(summary.reference_fetched_at))
        for name in ("Connected", "Scopes", "Cached", "Last error"):
            self.values[name].setText("…")

    def show_details(self, details: ConnectionDetails | None) -> None:
        if details is None or self.summary is None or details.connection_id != self.summary.id:
            return
        company_id = details.company_id + (f" (connection {details.remote_connection_id})"
                                           if details.remote_connection_id else "")
        self.values["Company ID"].setText(company_id)
        others = ", ".join(c for c in details.currencies if c != details.home_currency)
        if details.home_currency:
            self.values["Company"].setText(f"{self.summary.company_name} · {details.home_currency}"
                                           + (f" (also {others})" if others else ""))
        self.values["Connected"].setText(local_time(details.connected_at))
        self.values["Scopes"].setText(", ".join(details.scopes) or "—")
        self.values["Cached"].setText(", ".join(f"{n} {word}" for word, n in details.cached.items()) or "nothing yet")
        self.values["Fetched"].setText(local_time(details.fetched_at))
        self.values["Last error"].setText(error_text(details.last_error))


def error_text(error: dict[str, object] | None) -> str:
    """The last error as a person reads it: our words, then the platform's code and words."""
    if not error:
        return "None"
    parts = [str(error.get("message") or "Unknown error")]
    code, words = error.get("platform_code"), error.get("platform_message")
    if code or words:
        parts.append(f"({error.get('platform') or 'platform'} {code or ''}{': ' if code and words else ''}"
                     f"{words or ''})".replace("  ", " "))
    if error.get("action"):
        parts.append(f"— {error['action']}")
    return " ".join(parts)
