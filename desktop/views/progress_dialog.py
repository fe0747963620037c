"""The one look of a long operation: a small dialog with a heading, a bar with counts, and Cancel.

Import, "Sync now", Reconcile and the CSV exports all show their work here. The work runs through
:func:`~desktop.views.ops.run_in_background` (on the long-operations pool, so reads never queue
behind it) and reports ``done`` of ``total`` with a line of counts; the bar is determinate when
the total is known and busy otherwise. Cancel asks the operation to stop where that is safe — the
button says so until it has — and the dialog then shows the outcome the caller words (what stays
done). Nothing runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop.services.core.errors import AppError
from desktop.views.ops import BackgroundOperation, Progress, ProgressUpdate, run_in_background

__all__ = ["OperationDialog", "failure_words"]

T = TypeVar("T")


def failure_words(exc: BaseException) -> str:
    """A failure as the dialog says it: the service's message and what to do (failures reach views as
    :class:`~desktop.services.core.errors.AppError`, :func:`~desktop.views.ops_failure.person_facing`)."""
    return exc.user_message() if isinstance(exc, AppError) else str(exc)


class OperationDialog(QDialog):
    """One long operation's progress, its Cancel, then its outcome (see the module docstring)."""

    def __init__(self, parent: QWidget, title: str, heading: str, *, stopping: str,
                 cancel_tip: str = "Stop where it is safe; what is done stays done", modal: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        # Not modal by default: while a sync or a reconciliation runs the person keeps working in the
        # other pages (their reads run on their own threads); the dialog stays above its window.
        self.setWindowModality(Qt.WindowModality.WindowModal if modal else Qt.WindowModality.NonModal)
        self.setMinimumWidth(520)
        self._stopping_text = stopping
        self.heading = QLabel(heading)
        self.heading.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the first count with a total
        self.bar.setFormat("%v of %m")  # the count itself, "10 of 30", not only a percentage
        self.counts = QLabel("Starting…")
        self.counts.setWordWrap(True)
        self.counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.cancel_button: QPushButton = self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.bar, self.counts, self.buttons):
            layout.addWidget(widget)
        self.op: BackgroundOperation[Any] | None = None
        self.failure: BaseException | None = None
        self.finished_text: str | None = None

    def run(self, work: Callable[[Progress], T], *, on_done: Callable[[T], str],
            on_failed: Callable[[BaseException], str] | None = None, label: str) -> BackgroundOperation[T]:
        """Show the dialog and run ``work`` on the long-operations pool; ``on_done``/``on_failed`` word the outcome."""

        def done(value: T) -> None:
            if self.bar.maximum() > 0 and not op.progress.cancelled:  # a stopped one keeps where it got to
                self.bar.setValue(self.bar.maximum())
            self.finish(on_done(value))

        def failed(exc: BaseException) -> None:
            self.failure = exc
            self.finish(on_failed(exc) if on_failed is not None else failure_words(exc))

        op = run_in_background(self, work, on_success=done, on_failure=failed, on_progress=self.on_progress,
                               label=label, long_running=True)
        self.op = op
        self.show()
        return op

    # --- callbacks (GUI thread) -------------------------------------------------------------------------
    def on_progress(self, update: ProgressUpdate) -> None:
        if update.total:
            if self.bar.maximum() != update.total:
                self.bar.setRange(0, update.total)
            self.bar.setValue(min(update.done, update.total))
        else:
            self.bar.setRange(0, 0)
        if update.message:
            self.counts.setText(update.message)

    def _on_cancel_clicked(self) -> None:
        if self.op is None or self.op.done:
            self.accept()
            self.deleteLater()  # read and closed: one dialog per operation, not one per operation ever run
            return
        self.op.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Stopping…")
        self.heading.setText(self._stopping_text)

    def finish(self, text: str) -> None:
        """The outcome: the heading says it, the bar stops, Cancel becomes Close (the page's status line
        says it too; a dialog the person already closed with Esc is not shown again)."""
        self.finished_text = text
        self.heading.setText(text)
        if self.bar.maximum() == 0:
            self.bar.setRange(0, 1)
            self.bar.setValue(1 if self.failure is None else 0)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self.cancel_button.setToolTip("")
