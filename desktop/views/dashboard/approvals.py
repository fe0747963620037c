"""The dashboard's maker-checker queue: pending approval requests, with Approve and Reject.

Reads and decides through ``ViewServices.approvals`` (``ApprovalService``) on a worker thread; the
note is asked for in a window-modal dialog opened with ``open()`` (never ``exec()``). The service
refuses self-approval and the wrong role; the buttons say so in their tooltip, and a refusal the
service raises is shown (and audited) like any other background failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, label

if TYPE_CHECKING:
    from desktop.services.auth.roles import Actor
    from desktop.services.manual.approvals import ApprovalService, ApprovalView

COLUMNS = ("#", "Organization", "What", "Amount", "Asked by", "When")


class ApprovalsCard(Card):
    """Pending approvals (hidden when there is no approvals service)."""

    def __init__(self, service: ApprovalService | None, actor: Actor | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service, self.actor = service, actor
        self.rows: list[ApprovalView] = []
        self.dialog: QInputDialog | None = None
        self._loading = False
        head = QHBoxLayout()
        self.title = label("Waiting for approval", "CardTitle")
        head.addWidget(self.title, 1)
        self.approve_button = QPushButton("Approve…")
        self.approve_button.setObjectName("PrimaryButton")
        self.reject_button = QPushButton("Reject…")
        head.addWidget(self.reject_button)
        head.addWidget(self.approve_button)
        self.layout_.addLayout(head)
        self.hint = label("", "CardHint", wrap=True)
        self.layout_.addWidget(self.hint)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header = self.table.horizontalHeader()
        for column in (0, 1, 3, 4, 5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(False)
        self.table.setMinimumHeight(120)
        self.table.setAccessibleName("Approval requests waiting for a second person")
        self.layout_.addWidget(self.table)
        self.approve_button.clicked.connect(lambda: self.ask(approve=True))
        self.reject_button.clicked.connect(lambda: self.ask(approve=False))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.setVisible(service is not None)
        self._update_buttons()

    # --- loading ---------------------------------------------------------------------------------
    def reload(self) -> None:
        service, actor = self.service, self.actor
        if service is None or actor is None or self._loading:
            return
        self._loading = True
        run_in_background(self, lambda _p: service.requests(actor), on_success=self.show_rows,
                          on_failure=self._failed, label="Loading approvals")

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.hint.setText(f"Could not load the approvals: {exc}")

    def show_rows(self, rows: list[ApprovalView]) -> None:
        self._loading = False
        self.rows = rows
        self.title.setText(f"Waiting for approval ({len(rows)})" if rows else "Waiting for approval")
        self.hint.setText("A second person approves or rejects each request; nothing of it reaches the ledger "
                          "before." if rows else "Nothing waits for approval.")
        self.table.setRowCount(len(rows))
        for r, v in enumerate(rows):
            amount = f"{v.amount.amount:,} {v.amount.currency}" if v.amount is not None else "—"
            cells = (str(v.id), v.org, v.summary, amount, v.requested_by, v.requested_at.strftime("%Y-%m-%d %H:%M UTC"))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if c == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.setVisible(bool(rows))
        self._update_buttons()

    # --- deciding --------------------------------------------------------------------------------
    def selected(self) -> ApprovalView | None:
        picked = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.rows[picked[0].row()] if picked and picked[0].row() < len(self.rows) else None

    def _update_buttons(self) -> None:
        v = self.selected()
        own = v is not None and self.actor is not None and v.requested_by == self.actor.username
        for button in (self.approve_button, self.reject_button):
            button.setEnabled(v is not None and not own and self.actor is not None)
            button.setToolTip("You asked for this: a second person decides it" if own else
                              "Select a request first" if v is None else "")

    def ask(self, *, approve: bool) -> None:
        v = self.selected()
        if v is None or not self.approve_button.isEnabled():
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Approve request" if approve else "Reject request")
        dialog.setLabelText(f"{'Approve' if approve else 'Reject'} request {v.id}: {v.summary}\n"
                            f"Asked by {v.requested_by}. Note{' (optional)' if approve else ' (why)'}:")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setOkButtonText("Approve" if approve else "Reject")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(lambda note: self.decide(v.id, note, approve=approve))
        self.dialog = dialog
        dialog.open()

    def decide(self, request_id: int, note: str, *, approve: bool) -> None:
        service, actor = self.service, self.actor
        if service is None or actor is None:
            return

        def work(_p: Any) -> ApprovalView:
            return service.approve(actor, request_id, note) if approve else service.reject(actor, request_id, note)

        self.approve_button.setEnabled(False)
        self.reject_button.setEnabled(False)
        run_in_background(self, work, on_success=self._decided, on_failure=self._decide_failed,
                          label="Approve" if approve else "Reject")

    def _decided(self, view: ApprovalView) -> None:
        self.hint.setText(f"Request {view.id} {view.status.value}.")
        self.reload()

    def _decide_failed(self, exc: BaseException) -> None:
        from desktop.views.ops import show_failure
        show_failure(self, "Approvals", exc)
        self._update_buttons()
