"""One return in full: the RMS record, its ledger documents, their debit/credit preview and history.

Filled from a :class:`~desktop.services.queries.returns.ReturnDetail` (and the documents pre-flight
would post now, for the preview) that the page loads in the background; this widget only shows.
Its buttons are the page's actions; which are enabled follows the selected document's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QWidget,
)

from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.queries.returns import DocumentView, ReturnDetail
from desktop.views.pages.base import Card, house_style, label
from desktop.views.returns.model import STATUSES, money_text, row_state, status_label

#: Document states Retry acts on, and return states Re-post acts on (the single and the bulk actions).
RETRYABLE = ("failed", "quarantined")
REPLANNABLE = ("new", "quarantined", "ready")
SEVERITY_COLOURS = {"debug": "#8a94a3", "info": "#3b82f6", "warning": "#d97706", "error": "#dc3545",
                    "critical": "#b4236f"}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def make_table(headers: Sequence[str], *, right: Sequence[int] = (), stretch: int | None = None) -> QTableWidget:
    """A read-only, row-selecting table in the house style."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = house_style(table, 30)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if stretch is not None:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    for col in right:
        item = QTableWidgetItem(headers[col])
        item.setTextAlignment(_RIGHT)
        table.setHorizontalHeaderItem(col, item)
    table.setProperty("right_columns", list(right))
    return table


def fill_table(table: QTableWidget, rows: Sequence[Sequence[Any]], *, colours: Sequence[str | None] = ()) -> None:
    right = set(table.property("right_columns") or [])
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem("" if value is None else str(value))
            item.setToolTip(item.text() if len(item.text()) > 24 else "")
            if c in right:
                item.setTextAlignment(_RIGHT)
            if c == 0 and r < len(colours) and colours[r]:
                item.setForeground(QColor(str(colours[r])))
            table.setItem(r, c, item)


def amount(value: Any) -> str:
    """``1,234.50`` for a Money (currency shown in its own column) or an exact Decimal."""
    number = getattr(value, "amount", value)
    return "" if number is None else f"{number:,f}"


def money_cell(value: Any) -> str:
    """``1,234.50 CAD`` for a Money, empty for None (a preview line is either a debit or a credit)."""
    return "" if value is None else f"{amount(value)} {value.currency}"


def _cost(value: Any) -> str:
    """A line's unit cost as the RMS stated it, or "unknown" (issue 16's goods journal needs it)."""
    return "unknown" if value is None else amount(value)


class DetailPanel(Card):
    """Header with actions, then tabs: Return · Documents · Debit / credit · History."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        # The app style sheet draws every button alike; an unavailable action must look unavailable
        # (its tooltip says what it does). Palette roles keep this right in light and dark.
        self.setStyleSheet("QPushButton:disabled { color: palette(dark); background: palette(window);"
                           " border-color: palette(mid); }")
        top = QHBoxLayout()
        top.setSpacing(10)
        self.title = label("Select a return", "SectionTitle")
        self.badge = label("", "Badge")
        top.addWidget(self.title)
        top.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip in (
                ("retry", "Retry", "Send the selected failed or held document again (Ctrl+R)"),
                ("replan", "Re-post", "Rebuild the documents with the current mapping and queue them (Ctrl+Shift+R)"),
                ("adopt", "Adopt…", "The selected document is already in the ledger: give its number (Ctrl+D)"),
                ("void", "Void in ledger…", "Void the selected posted document in the ledger")):
            button = QPushButton(text)
            button.setObjectName(f"{key}Button")
            button.setToolTip(tip)
            button.setEnabled(False)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.buttons[key] = button
            top.addWidget(button)
        self.layout_.addLayout(top)
        self.subtitle = label("The RMS record, the documents it produced, their debit/credit preview and the "
                              "sync history appear here.", "CardHint", wrap=True)
        state = QHBoxLayout()  # the status under the title: the header row stays narrow enough for 1024 px
        state.setSpacing(10)
        state.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        state.addWidget(self.subtitle, 1)
        self.layout_.addLayout(state)
        self.problems = QLabel("")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        self.problems.setVisible(False)
        self.layout_.addWidget(self.problems)
        self.layout_.addSpacing(8)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.lines = make_table(["Line", "SKU", "Description", "Qty", "Unit price", "Unit cost", "Reason",
                                 "Disposition"], right=(3, 4, 5), stretch=2)
        self.documents = make_table(["Document", "Role", "Status", "Number", "Ledger id", "Total", "Date", "Note"],
                                    right=(5,), stretch=7)
        self.preview = make_table(["Document", "Account", "Debit", "Credit", "Memo"], right=(2, 3), stretch=4)
        self.history = make_table(["Time", "Severity", "What happened"], stretch=2)
        self.tabs.addTab(self.lines, "Return")
        self.tabs.addTab(self.documents, "Documents")
        self.tabs.addTab(self.preview, "Debit / credit")
        self.tabs.addTab(self.history, "History")
        self.tabs.setMinimumHeight(250)
        self.layout_.addWidget(self.tabs, 1)
        self.footer = label("", "CardHint", wrap=True)
        self.layout_.addWidget(self.footer)
        self.detail: ReturnDetail | None = None
        self.previewed: tuple[LedgerDocument, ...] = ()  # the documents the preview shows

    # --- showing ---------------------------------------------------------------------------------
    def show_detail(self, detail: ReturnDetail | None) -> None:
        self.detail = detail
        if detail is None:
            self.title.setText("Select a return")
            self.badge.setText("")
            self.badge.setStyleSheet("")
            self.badge.setVisible(False)
            for table in (self.lines, self.documents, self.preview, self.history):
                table.setRowCount(0)
            self.previewed = ()
            self.footer.setText("")
            self.problems.setVisible(False)
            return
        row = detail.row
        self.title.setText(f"{row.rma}" + (f" · revision {row.revision}" if row.revision > 1 else ""))
        state = row_state(row)
        colour = STATUSES.get(state, ("", "#7b8594"))[1]
        self.badge.setText(status_label(state))
        self.badge.setVisible(True)
        self.badge.setStyleSheet(f"color: {colour}; border-color: {colour}; font-weight: 600;")
        who = " · ".join(p for p in (row.customer, detail.customer_email, row.channel, detail.warehouse) if p)
        method = detail.refund_method.replace("_", " ")
        refund = f"refund {money_text(row)} to {method}" if row.refund is not None else f"refund to {method}"
        self.subtitle.setText(f"{row.org} · {who} · {refund} · RMS status “{row.rms_status}”")
        fill_table(self.lines, [[ln["line"], ln["sku"], ln["description"], f"{ln['quantity']:f}",
                                 amount(ln["unit_price"]), _cost(ln.get("unit_cost")), ln["reason"],
                                 ln["disposition"]] for ln in detail.lines])
        self._show_documents(detail.documents)
        self.history.setRowCount(0)
        events = detail.history
        fill_table(self.history, [[e["at"].astimezone().strftime("%Y-%m-%d %H:%M:%S"), str(e["severity"]).capitalize(),
                                   e["message"] + (f" ({e['platform_code']}: {e['platform_message']})"
                                                   if e.get("platform_message") else "")] for e in events],
                   colours=[None] * len(events))
        for r, e in enumerate(events):
            item = self.history.item(r, 1)
            if item is not None:
                item.setForeground(QColor(SEVERITY_COLOURS.get(str(e["severity"]), "#8a94a3")))
        reasons = "".join(f"<li><b>{_esc(q['code'].replace('_', ' '))}</b>: {_esc(q['message'])}</li>"
                          for q in detail.reasons)
        self.problems.setText(f"<span style='color:{SEVERITY_COLOURS['error']}'><b>Pre-flight stopped this return"
                              f"</b></span><ul style='margin-left:-20px'>{reasons}</ul>" if reasons else "")
        self.problems.setVisible(bool(reasons))
        if detail.reasons and not detail.documents:
            self.tabs.setCurrentWidget(self.preview)
        notes = [f"Entered by hand ({m['path'].replace('_', ' ')}) by {m['by']}: {m['status']}"
                  + (f", ledger no. {m['number']}" if m["number"] else "") for m in detail.manual]
        fees = ", ".join(f"{f['type'].replace('_', ' ')} {f['amount']}" for f in detail.fees)
        if fees:
            notes.insert(0, f"Fees: {fees}")
        self.footer.setText("\n".join(notes))

    def _show_documents(self, docs: Sequence[DocumentView]) -> None:
        rows = []
        for d in docs:
            state = d.status
            note = d.message or ""
            if d.remote_state:
                note = f"{d.remote_state.capitalize()} in the ledger. {note}".strip()
            number = d.number or (f"{d.awaiting_number} (to adopt)" if d.awaiting_number else "")
            rows.append([d.doc_type, d.role.replace("_", " "), status_label(state), number,
                         d.remote_id or "", f"{amount(d.total)} {d.total.currency}" if d.total else "",
                         d.txn_date or "", note])
        fill_table(self.documents, rows)
        for r, d in enumerate(docs):
            state = d.status
            item = self.documents.item(r, 2)
            if item is not None:
                item.setForeground(QColor(STATUSES.get(state, ("", "#7b8594"))[1]))
        if docs:
            self.documents.selectRow(0)

    def show_preview(self, documents: Sequence[LedgerDocument], problems: Sequence[Any]) -> None:
        """The balanced debit/credit lines pre-flight would post now (and why not, if it would not).

        Each amount carries its currency (``12.40 CAD``), right-aligned, so a column reads at a glance.
        """
        self.previewed = tuple(documents)
        rows: list[list[Any]] = []
        for doc in documents:
            for i, ln in enumerate(doc.journal):
                rows.append([f"{doc.doc_type} · {doc.currency}" if i == 0 else "", ln.account_name,
                             money_cell(ln.debit), money_cell(ln.credit), ln.memo])
            rows.append(["", "Total" + ("" if doc.is_balanced() else " — does not balance"),
                         money_cell(doc.debits()), money_cell(doc.credits()), ""])
        for p in problems:
            rows.append(["Pre-flight", p.code, "", "", p.message])
        fill_table(self.preview, rows)
        for r, values in enumerate(rows):
            if str(values[1]).startswith("Total"):
                for c in range(len(values)):
                    item = self.preview.item(r, c)
                    if item is not None:
                        font = item.font()
                        font.setBold(True)
                        item.setFont(font)

    def goods_rows(self) -> tuple[int, int]:
        """The preview's first and last rows of the last goods journal, its total included ((-1, -1): none)."""
        row, rows = 0, (-1, -1)
        for doc in self.previewed:
            if doc.role == "goods_journal":
                rows = (row, row + len(doc.journal))
            row += len(doc.journal) + 1
        return rows

    # --- which document --------------------------------------------------------------------------
    def selected_document(self) -> DocumentView | None:
        if self.detail is None:
            return None
        rows = self.documents.selectionModel().selectedRows()
        index = rows[0].row() if rows else -1
        return self.detail.documents[index] if 0 <= index < len(self.detail.documents) else None

    def update_buttons(self, can_resolve: bool, can_post: bool) -> None:
        doc = self.selected_document()
        b = self.buttons
        b["retry"].setEnabled(bool(can_resolve and doc and doc.status in RETRYABLE))
        b["replan"].setEnabled(bool(can_resolve and self.detail and self.detail.row.status in REPLANNABLE))
        b["adopt"].setEnabled(bool(can_resolve and doc and doc.status in ("pending", "failed", "quarantined",
                                                                           "uncertain", "awaiting_adoption")))
        b["void"].setEnabled(bool(can_post and doc and doc.status == "posted" and doc.remote_state != "voided"))



def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
