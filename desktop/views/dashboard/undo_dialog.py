"""The "Undo run…" confirmation: the dry run's report, one document per line in plain words.

Built from an :class:`~desktop.services.pipeline.undo.UndoReport` the card read on a worker thread
(``UndoService.preview``); opened window-modal with ``open()``. Documents edited in the ledger
since they were posted are kept unless the person ticks the box that takes them back too (the
CLI's ``--force``). ``confirmed(force)`` is emitted on "Undo run"; the card does the undo.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.views.pages.base import label

if TYPE_CHECKING:
    from desktop.services.pipeline.runs import RunDocument
    from desktop.services.pipeline.undo import UndoReport


def doc_title(doc: RunDocument) -> str:
    """``Credit memo 1043``."""
    kind = re.sub(r"(?<!^)(?=[A-Z])", " ", doc.doc_type).capitalize()
    number = doc.number or doc.remote_id
    return f"{kind} {number}" if number else kind


def doc_name(doc: RunDocument) -> str:
    """``credit memo 1043 for RMA-1042 (125.00 USD)``."""
    total = f" ({doc.total.amount:,} {doc.total.currency})" if doc.total is not None else ""
    title = doc_title(doc)
    return f"{title[:1].lower()}{title[1:]}{' for ' + doc.rma if doc.rma else ''}{total}"


def plain_line(doc: RunDocument) -> str:
    """What undoing the run does to ``doc``, in a sentence."""
    name = doc_name(doc)
    other = " (same return, posted by another run)" if not doc.in_run else ""
    if doc.ledger == "edited":
        return (f"Keep {name}: {doc.note or 'edited in the ledger since it was posted'}. "
                f"Tick the box below to take it back too.{other}")
    if doc.ledger in ("voided", "deleted"):
        return f"Nothing to do for {name}: already {doc.ledger} in the ledger.{other}"
    if doc.ledger == "unreadable":
        return f"Could not read {name} from the ledger ({doc.note}); it is tried again during the undo.{other}"
    verb = {"void": "Void", "delete": "Delete"}.get(doc.action or "", "Take back")
    changed = " It changed in the ledger since (say a payment applied), amounts as posted." \
        if doc.ledger == "changed" else ""
    return f"{verb} {name}.{changed}{other}"


class UndoDialog(QDialog):
    """Confirm undoing one run, showing what its dry run found."""

    confirmed = Signal(bool)  # force: take back documents edited in the ledger too

    def __init__(self, report: UndoReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = report
        run, counts, edited = report.run, report.counts, report.edited
        self.setWindowTitle(f"Undo sync run {run.id}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        to_void, to_delete = counts.get("to_void", 0), counts.get("to_delete", 0)
        head = (f"Undoing run {run.id} ({run.org or 'no organization'}) takes back {to_void + to_delete} "
                f"document(s) in the ledger: {to_void} by void, {to_delete} by delete. The returns become "
                "ready to post again with the mapping active then, and the RMS is told.")
        if edited:
            head += (f" {len(edited)} document(s) were edited in the ledger since they were posted: they are "
                     "kept unless you tick the box below.")
        self.summary = label(head, "CardHint", wrap=True)
        layout.addWidget(self.summary)
        self.documents = QListWidget()
        self.documents.setAccessibleName("What undoing the run does, document by document")
        self.documents.setWordWrap(True)
        self.documents.setMinimumHeight(160)
        for doc in report.documents:
            self.documents.addItem(plain_line(doc))
        if not report.documents:
            self.documents.addItem("The run has no documents left in the ledger.")
        layout.addWidget(self.documents, 1)
        self.force = QCheckBox(f"Also take back the {len(edited)} document(s) edited in the ledger")
        self.force.setVisible(bool(edited))
        layout.addWidget(self.force)
        buttons = QDialogButtonBox()
        self.undo_button: QPushButton = buttons.addButton("Undo run", QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)  # Enter does not take documents back
        self.undo_button.setAutoDefault(False)
        self.undo_button.setEnabled(bool(to_void + to_delete or edited))
        self.force.toggled.connect(lambda on: self.undo_button.setEnabled(bool(to_void + to_delete or on)))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.accepted.connect(lambda: self.confirmed.emit(self.force.isChecked()))

    def lines(self) -> list[str]:
        return [self.documents.item(i).text() for i in range(self.documents.count())]
