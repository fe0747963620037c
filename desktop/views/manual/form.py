"""The manual entry form: keyboard-first fields, the two paths, and what pre-flight says about them.

Tab moves field to field in reading order; Alt+Q / Alt+E pick the path; Ctrl+Return records.
The form only collects and shows: :meth:`ManualEntryForm.form` turns the fields into a
:class:`~desktop.services.manual.ManualForm`, and the page asks the service (in the
background) to check or record it. Amounts are parsed as ``Decimal`` straight from the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import QDate, QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from desktop.services.core.domain import ManualEntryPath
from desktop.services.manual import ManualForm, Prepared
from desktop.views.combos import refill
from desktop.views.pages.base import Card, label
from desktop.views.returns.detail import amount, fill_table, make_table
from desktop.views.sources import source_name

OK_COLOUR, BAD_COLOUR = "#1f9d55", "#dc3545"


class ManualEntryForm(Card):
    """Organization, return, date, amount, path, document number, note; emits ``changed`` on edits."""

    changed = Signal()
    submit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_.addWidget(label("Record a return by hand", "SectionTitle"))
        self.layout_.addWidget(label("While sync is down: queue the return's documents, or tell the app you "
                                     "already entered them in the ledger.", "CardHint", wrap=True))
        self.layout_.addSpacing(8)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        self.org = QComboBox()
        self.org.setAccessibleName("Organization")
        self.rma = QLineEdit()
        self.rma.setPlaceholderText("e.g. RMA-ACME-100042")
        self.redate = QCheckBox("Re-date to")
        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setDate(QDate.currentDate())
        self.date.setEnabled(False)
        date_row = QHBoxLayout()
        date_row.addWidget(self.redate)
        date_row.addWidget(self.date, 1)
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("as the RMS shows it, e.g. 129.95")
        self.amount.setValidator(QRegularExpressionValidator(QRegularExpression(r"^\d{0,12}([.]\d{0,4})?$"),
                                                             self.amount))
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.queue = QRadioButton("&Queue: post it when the ledger is reachable")
        self.direct = QRadioButton("I &entered it in the ledger myself, as…")
        self.queue.setChecked(True)
        self.paths = QButtonGroup(self)
        self.paths.addButton(self.queue)
        self.paths.addButton(self.direct)
        self.number = QLineEdit()
        self.number.setPlaceholderText("its number there, e.g. 1042 or CN-0042")
        self.number.setEnabled(False)
        self.note = QLineEdit()
        self.note.setPlaceholderText("optional: why, ticket number…")
        form.addRow("&Organization", self.org)
        form.addRow("&Return (RMA)", self.rma)
        form.addRow("Ledger date", date_row)
        form.addRow("Refund &total", self.amount)
        form.addRow("How", self.queue)
        form.addRow("", self.direct)
        form.addRow("Document &number", self.number)
        form.addRow("No&te", self.note)
        self.layout_.addLayout(form)
        self.layout_.addSpacing(10)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Run pre-flight on what you typed (nothing is recorded)")
        self.record_button = QPushButton("Record  (Ctrl+Return)")
        self.record_button.setObjectName("PrimaryButton")
        self.record_button.setEnabled(False)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.record_button)
        self.layout_.addLayout(buttons)
        self.redate.toggled.connect(self.date.setEnabled)
        self.direct.toggled.connect(self._on_direct_toggled)
        for signal in (self.rma.textChanged, self.amount.textChanged, self.number.textChanged,
                       self.date.dateChanged, self.redate.toggled, self.direct.toggled, self.org.currentIndexChanged):
            signal.connect(lambda *_: self.changed.emit())
        self.record_button.clicked.connect(self.submit_requested.emit)
        for w in (self.org, self.rma, self.redate, self.date, self.amount, self.queue, self.direct, self.number,
                  self.note, self.check_button, self.record_button):
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        QWidget.setTabOrder(self.org, self.rma)
        QWidget.setTabOrder(self.rma, self.redate)
        QWidget.setTabOrder(self.redate, self.date)
        QWidget.setTabOrder(self.date, self.amount)
        QWidget.setTabOrder(self.amount, self.queue)
        QWidget.setTabOrder(self.queue, self.direct)
        QWidget.setTabOrder(self.direct, self.number)
        QWidget.setTabOrder(self.number, self.note)
        QWidget.setTabOrder(self.note, self.record_button)

    def _on_direct_toggled(self, on: bool) -> None:
        self.number.setEnabled(on)  # next in the tab order: Down, then Tab, then type the number

    def set_organizations(self, orgs: Sequence[tuple[str, str]]) -> None:
        """(code, platform) pairs; the path label names the organization's ledger."""
        refill(self.org, [(f"{code} · {source_name(platform)}", (code, platform)) for code, platform in orgs])

    def form(self) -> ManualForm | None:
        data = self.org.currentData()
        if not data or not self.rma.text().strip():
            return None
        try:
            typed = Decimal(self.amount.text()) if self.amount.text().strip() else None
        except InvalidOperation:
            typed = None
        day = self.date.date().toPython() if self.redate.isChecked() else None
        path = ManualEntryPath.ENTERED_DIRECTLY if self.direct.isChecked() else ManualEntryPath.QUEUED
        return ManualForm(data[0], self.rma.text().strip(), path, txn_date=day, amount=typed,  # type: ignore[arg-type]
                          doc_number=self.number.text().strip() or None, note=self.note.text().strip())

    def clear(self) -> None:
        for w in (self.rma, self.amount, self.number, self.note):
            w.clear()
        self.queue.setChecked(True)
        self.redate.setChecked(False)
        self.rma.setFocus()


class CheckPanel(Card):
    """Pre-flight's verdict on the form, and the balanced debit/credit lines it would post."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_.addWidget(label("Pre-flight", "SectionTitle"))
        self.verdict = QLabel("Type an RMA number: the same checks as automatic sync run as you type.")
        self.verdict.setObjectName("CardHint")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.layout_.addWidget(self.verdict)
        self.layout_.addSpacing(6)
        self.preview = make_table(["Document", "Account", "Debit", "Credit"], right=(2, 3), stretch=1)
        self.preview.setMinimumHeight(200)
        self.layout_.addWidget(self.preview, 1)

    def show_result(self, prepared: Prepared | None, *, busy: bool = False) -> None:
        if busy:
            self.verdict.setText("Checking…")
            return
        if prepared is None:
            self.verdict.setText("Type an RMA number: the same checks as automatic sync run as you type.")
            self.preview.setRowCount(0)
            return
        if prepared.problems:
            items = "".join(f"<li><b>{_esc(p.code.replace('_', ' '))}</b>: {_esc(p.message)}</li>"
                            for p in prepared.problems)
            self.verdict.setText(f"<span style='color:{BAD_COLOUR}'><b>✗ {len(prepared.problems)} problem(s) — "
                                 f"nothing will be recorded</b></span><ul style='margin-left:-20px'>{items}</ul>")
        else:
            refund = f"{prepared.refund}" if prepared.refund is not None else ""
            self.verdict.setText(f"<span style='color:{OK_COLOUR}'><b>✓ Ready</b></span> — {prepared.rma} revision "
                                 f"{prepared.revision}: {len(prepared.documents)} document(s), refund {refund}. "
                                 "Debits equal credits.")
        rows: list[list[Any]] = []
        for doc in prepared.documents:
            for i, ln in enumerate(doc.journal):
                rows.append([f"{doc.doc_type} · {doc.currency}" if i == 0 else "", ln.account_name,
                             amount(ln.debit), amount(ln.credit)])
        fill_table(self.preview, rows)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
