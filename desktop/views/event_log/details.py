"""The error log's details panel (one event for a person, with its document's request and response
behind a disclosure) and the Resolve dialog.

Split from :mod:`desktop.views.event_log.dock` so the dock module holds only the dock.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.queries.errors import Explanation, explain
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
    """The selected event for a person: what happened, the platform's words, what to do; the
    technical record (event details, the ledger's last answer, our request — redacted) behind a
    disclosure; the three action buttons at its foot, reachable with Tab and by their shortcuts."""

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
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel("")
        self.facts.setObjectName("LogFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.todo = QLabel("")
        self.todo.setObjectName("LogTodo")
        self.todo.setWordWrap(True)
        self.todo.setTextFormat(Qt.TextFormat.RichText)
        self.todo.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.disclosure = QToolButton()
        self.disclosure.setText("Request and response")
        self.disclosure.setToolTip("The event's details, the ledger's last answer and the request we send "
                                   "(secrets masked)")
        self.disclosure.setCheckable(True)
        self.disclosure.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.disclosure.setArrowType(Qt.ArrowType.RightArrow)
        self.disclosure.setAutoRaise(True)
        self.disclosure.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.disclosure.toggled.connect(self._on_disclosure_toggled)
        self.disclosure.setVisible(False)  # until there is an event to disclose
        self.raw = QPlainTextEdit()
        self.raw.setObjectName("LogRaw")
        self.raw.setReadOnly(True)
        self.raw.setPlaceholderText("The platform's answer and the request we sent appear here (secrets masked).")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(8.0, QFont().pointSizeF() - 1))
        self.raw.setFont(mono)
        self.raw.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.raw.setMinimumHeight(120)
        self.raw.setVisible(False)
        # The words scroll on their own when the dock is short; the buttons stay in view.
        words = QWidget()
        words_col = QVBoxLayout(words)
        words_col.setContentsMargins(0, 0, 4, 0)
        words_col.setSpacing(6)
        for w in (self.headline, self.todo, self.facts, self.disclosure):
            words_col.addWidget(w)
        words_col.addWidget(self.raw, 1)
        words_col.addStretch(0)
        self.words_area = QScrollArea()
        self.words_area.setObjectName("LogDetailsScroll")
        self.words_area.setWidget(words)
        self.words_area.setWidgetResizable(True)
        self.words_area.setFrameShape(QFrame.Shape.NoFrame)
        self.words_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.retry_button = QPushButton("Retry")
        self.resolve_button = QPushButton("Resolve…")
        self.open_button = QPushButton("Open return")
        for b in (self.retry_button, self.resolve_button, self.open_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable with Tab on every platform
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.status = QLabel("")
        self.status.setObjectName("CardHint")
        self.status.setWordWrap(True)
        col.addWidget(self.words_area, 1)
        col.addLayout(buttons)
        col.addWidget(self.status)
        self.explanation: Explanation | None = None
        self._shown_id: str | None = None

    def _on_disclosure_toggled(self, shown: bool) -> None:
        self.raw.setVisible(shown)
        self.disclosure.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if shown:  # bring what was asked for into view (the words scroll when the dock is short)
            QTimer.singleShot(0, self, lambda: self.words_area.verticalScrollBar().setValue(self.disclosure.y()))

    def show_event(self, event: Event | None, resolution: Resolution | None,
                   context: DocumentContext | None = None, loading: bool = False) -> None:
        if event is None:
            self.explanation = self._shown_id = None
            self.headline.setText("Select an event to see its details")
            self.facts.setText("")
            self.todo.setText("")
            self.raw.setPlainText("")
            self.disclosure.setVisible(False)
            return
        if event.event_id != self._shown_id:  # another event: read it from the top
            self._shown_id = event.event_id
            self.words_area.verticalScrollBar().setValue(0)
        told = self.explanation = explain(event, context)
        name = severity_name(event)
        colour = SEVERITY_COLOURS["resolved" if resolution else name]
        state = "Resolved" if resolution else name.capitalize()
        self.headline.setText(told.what_happened)
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()

        def row(key: str, value: str) -> str:
            return (f"<tr><td style='color:{muted}; padding-right:10px'>{key}</td>"
                    f"<td>{html_text(value)}</td></tr>")

        rows = [f"<tr><td style='color:{muted}; padding-right:10px'>Severity</td>"
                f"<td><b style='color:{colour}'>● {state}</b></td></tr>",
                row("When", f"{event.occurred_at.astimezone():%Y-%m-%d %H:%M:%S} "
                            f"({event.occurred_at:%H:%M:%S} UTC)")]
        if event.org:
            rows.append(row("Organization", event.org))
        if document_text(event):
            rows.append(row("Return / document", document_text(event)))
        if context is not None:
            rows.append(row("Document", f"{context.doc_type} · {context.status.replace('_', ' ')} · "
                                        f"{context.attempts} attempt{'s' if context.attempts != 1 else ''}"))
        elif loading and event.document_key:
            rows.append(row("Document", "loading…"))
        if resolution is not None:
            rows.append(row("Resolved", f"by {resolution.by} at {resolution.at.astimezone():%Y-%m-%d %H:%M} — "
                                        f"{resolution.note}"))
        self.facts.setText(f"<table cellspacing='0' cellpadding='1'>{''.join(rows)}</table>")
        # What a person acts on comes first: the platform's own words, the problems, what to do.
        parts = []
        if told.platform_code or told.platform_message:
            who = platform_name(told.platform, told.platform or "The platform")
            said = " — ".join(html_text(x) for x in (told.platform_code, told.platform_message) if x)
            parts.append(f"<p style='margin:0 0 4px 0'><b>{html_text(who)} says</b><br>{said}</p>")
        listed = "".join(f"<li>{html_text(p.what)}</li>" for p in told.problems if p.what not in told.what_happened)
        if listed:
            parts.append(f"<p style='margin:0'><b>Problems</b></p><ul style='margin:0 0 4px 0'>{listed}</ul>")
        parts.append(f"<p style='margin:0'><b>What to do</b><br>{html_text(told.what_to_do)}</p>")
        self.todo.setText("".join(parts))
        technical = {"kind": event.kind, **told.technical}
        self.disclosure.setVisible(True)
        self.raw.setPlainText(json.dumps(technical, indent=2, ensure_ascii=False, sort_keys=False))


class LogEmptyState(QWidget):
    """What an empty grid means ("No errors — everything synced"), with the way back ("Show all")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LogEmpty")
        col = QVBoxLayout(self)
        col.setContentsMargins(16, 16, 16, 16)
        col.setSpacing(6)
        self.title = QLabel("")
        self.title.setObjectName("SectionTitle")
        self.hint = QLabel("")
        self.hint.setObjectName("CardHint")
        self.hint.setWordWrap(True)
        self.action = QPushButton("")
        self.action.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        col.addStretch(1)
        for w in (self.title, self.hint):
            w.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            col.addWidget(w)
        col.addWidget(self.action, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addStretch(1)

    def say(self, title: str, hint: str, action: str = "", does: str = "") -> None:
        self.title.setText(title)
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self.action.setText(action)
        self.action.setProperty("does", does)
        self.action.setVisible(bool(action))


def html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
