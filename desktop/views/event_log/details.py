"""The error log's details panel (one event in full, with its document's request and response) and
the Resolve dialog.

Split from :mod:`desktop.views.event_log.dock` so the dock module holds only the dock.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.views.event_log.model import (
    SEVERITY_COLOURS,
    document_text,
    platform_name,
    severity_name,
)

if TYPE_CHECKING:
    from desktop.services.core.events import Event
    from desktop.services.queries.errors import DocumentContext, Resolution
class ResolveDialog(QDialog):
    """Asks for the note a resolution must carry (non-modal: opened with ``open()``)."""

    def __init__(self, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Resolve")
        self.setMinimumWidth(420)
        col = QVBoxLayout(self)
        what = "this event" if count == 1 else f"these {count} events"
        col.addWidget(QLabel(f"How was {what} resolved? The note goes into the audit log."))
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("e.g. Mapped reason code DAMAGED to 4010 Sales returns; retried")
        self.note.setFixedHeight(90)
        col.addWidget(self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Resolve")
        ok.setEnabled(False)
        self.note.textChanged.connect(lambda: ok.setEnabled(bool(self.note.toPlainText().strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        col.addWidget(self.buttons)


class DetailsPanel(QWidget):
    """The selected event in full; the three action buttons sit at its foot."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LogDetails")
        self.setMinimumWidth(260)
        col = QVBoxLayout(self)
        col.setContentsMargins(12, 0, 0, 0)
        col.setSpacing(6)
        self.headline = QLabel("Select an event to see its details")
        self.headline.setObjectName("SectionTitle")
        self.headline.setWordWrap(True)
        self.facts = QLabel("")
        self.facts.setObjectName("LogFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.raw = QPlainTextEdit()
        self.raw.setObjectName("LogRaw")
        self.raw.setReadOnly(True)
        self.raw.setPlaceholderText("The platform's answer and the request we sent appear here (secrets masked).")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(8.0, QFont().pointSizeF() - 1))
        self.raw.setFont(mono)
        self.raw.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.retry_button = QPushButton("Retry")
        self.resolve_button = QPushButton("Resolve…")
        self.open_button = QPushButton("Open return")
        for b in (self.retry_button, self.resolve_button, self.open_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.status = QLabel("")
        self.status.setObjectName("CardHint")
        self.status.setWordWrap(True)
        col.addWidget(self.headline)
        col.addWidget(self.facts)
        col.addWidget(self.raw, 1)
        col.addLayout(buttons)
        col.addWidget(self.status)

    def show_event(self, event: Event | None, resolution: Resolution | None,
                   context: DocumentContext | None = None, loading: bool = False) -> None:
        if event is None:
            self.headline.setText("Select an event to see its details")
            self.facts.setText("")
            self.raw.setPlainText("")
            return
        name = severity_name(event)
        colour = SEVERITY_COLOURS["resolved" if resolution else name]
        state = "Resolved" if resolution else name.capitalize()
        self.headline.setText(event.message)
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()

        def row(key: str, value: str) -> str:
            return (f"<tr><td style='color:{muted}; padding-right:10px'>{key}</td>"
                    f"<td>{html_text(value)}</td></tr>")

        rows = [f"<tr><td style='color:{muted}; padding-right:10px'>Severity</td>"
                f"<td><b style='color:{colour}'>● {state}</b></td></tr>",
                row("When", f"{event.occurred_at.astimezone():%Y-%m-%d %H:%M:%S} "
                            f"({event.occurred_at:%H:%M:%S} UTC)"),
                row("Kind", event.kind)]
        if event.org:
            rows.append(row("Organization", event.org))
        if document_text(event):
            rows.append(row("Return / document", document_text(event)))
        if event.platform_code or event.platform_message:
            who = platform_name(event.platform, event.platform or "Platform")
            rows.append(row(f"{who} says", " ".join(x for x in (event.platform_code, event.platform_message) if x)))
        if context is not None:
            rows.append(row("Document", f"{context.doc_type} · {context.status.replace('_', ' ')} · "
                                        f"{context.attempts} attempt{'s' if context.attempts != 1 else ''}"))
        if resolution is not None:
            rows.append(row("Resolved", f"by {resolution.by} at {resolution.at.astimezone():%Y-%m-%d %H:%M} — "
                                        f"{resolution.note}"))
        self.facts.setText(f"<table cellspacing='0' cellpadding='1'>{''.join(rows)}</table>")
        raw: dict[str, Any] = {}
        if event.details:
            raw["event"] = dict(event.details)
        if context is not None:
            if context.last_error:
                raw["last response"] = context.last_error
            raw["request"] = context.request
        elif loading and event.document_key:
            raw["document"] = "loading…"
        self.raw.setPlainText(json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=False) if raw else "")


def html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
