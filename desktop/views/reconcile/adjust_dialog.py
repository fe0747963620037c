""""Create adjusting entry…": pick the two accounts, see the pre-flight, queue the journal.

The dialog only collects choices; ``AdjustService`` (Qt-free) builds the journal, runs the
recipes' pre-flight, checks the permission and audits. Every service call runs in the background.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from desktop.views.ops import run_in_background

if TYPE_CHECKING:
    from desktop.services.mapping.service import MappingService
    from desktop.services.reconcile.adjust import AdjustService
__all__ = ["AdjustDialog"]


class AdjustDialog(QDialog):
    """Debit / credit account pickers for one variance; ``done_cb(key)`` after it is queued.

    ``service`` plans and queues the journal; ``mapping`` lists the accounts to pick from (its
    cached chart of accounts; None: the dialog says there is none yet).
    """

    def __init__(self, parent: QWidget, service: AdjustService, mapping: MappingService | None, actor: Any,
                 org: str, variance: dict[str, Any], done_cb: Callable[[str], None]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create adjusting entry")
        self._service, self._actor, self._org, self._variance, self._done = service, actor, org, variance, done_cb
        minor = int(variance.get("difference_minor") or 0)
        form = QFormLayout(self)
        form.addRow(QLabel(f"A journal for {abs(minor) // 100:,}.{abs(minor) % 100:02d} {variance.get('currency')} "
                           f"correcting {variance.get('rma') or 'this variance'}. It passes the same pre-flight as a "
                           "synced document and is posted through the outbox."))
        self.debit, self.credit, self.memo = QComboBox(), QComboBox(), QLineEdit()
        self.memo.setPlaceholderText("Why (goes into the memo and the audit log)")
        form.addRow("Debit account", self.debit)
        form.addRow("Credit account", self.credit)
        form.addRow("Note", self.memo)
        self.problems = QLabel("")
        self.problems.setWordWrap(True)
        form.addRow(self.problems)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Queue journal")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        run_in_background(self, lambda _p: _accounts(mapping, org), on_success=self._on_accounts,
                          label="Load accounts")

    def _on_accounts(self, accounts: list[tuple[str, str]]) -> None:
        for box in (self.debit, self.credit):
            for rid, name in accounts:
                box.addItem(name, rid)
        if len(accounts) > 1:
            self.credit.setCurrentIndex(1)
        if not accounts:
            self.problems.setText("No chart of accounts yet: refresh reference data on the Connections page.")

    def submit(self) -> None:
        service, actor, org = self._service, self._actor, self._org
        vid, debit, credit, memo = int(self._variance["id"]), self.debit.currentData(), self.credit.currentData(), \
            self.memo.text().strip()
        if not debit or not credit or debit == credit:
            self.problems.setText("Choose two different accounts.")
            return

        def work(_p: Any) -> tuple[str | None, list[str]]:
            plan = service.plan(org, vid, str(debit), str(credit), memo=memo)
            if not plan.ok:
                return None, [p.message for p in plan.problems]
            return service.enqueue(actor, plan), []

        self.buttons.setEnabled(False)
        run_in_background(self, work, on_success=self._on_result, on_failure=self._on_failure,
                          label="Create adjusting entry")

    def _on_result(self, result: tuple[str | None, list[str]]) -> None:
        key, problems = result
        self.buttons.setEnabled(True)
        if key is None:
            self.problems.setText("Not queued — pre-flight found:\n• " + "\n• ".join(problems))
            return
        self._done(key)
        self.accept()

    def _on_failure(self, exc: BaseException) -> None:
        from desktop.views.ops import show_failure

        self.buttons.setEnabled(True)
        show_failure(self, "Create adjusting entry", exc)


def _accounts(mapping: MappingService | None, org: str) -> list[tuple[str, str]]:
    snapshot = mapping.snapshot(org) if mapping is not None else None
    if snapshot is None:
        return []
    return sorted(((a.remote_id, f"{a.code + ' · ' if a.code else ''}{a.name}") for a in snapshot.accounts.values()
                   if a.active), key=lambda t: t[1].lower())
