"""Returns → "Import file…": an RMS export imported off the GUI thread, with counts, a bar and Cancel.

The import itself is the service's (:class:`~desktop.services.rms.file_import.ReturnsFileImport`,
streamed in batches, one transaction each); it runs through :func:`~desktop.views.ops.run_in_background`
and reports after every committed batch. The dialog shows how much of the file is read and the
counts so far (read, ingested, quarantined). Cancel asks the import to stop at the next batch
boundary — the button says so while it finishes the batch being written — and the dialog then says
exactly what happened: how many records were saved (ingested and quarantined) and how many were
not read. A failure is shown in the dialog in a person's words; nothing runs on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop.services.auth.roles import Actor
from desktop.services.rms.file_import import ReturnsFileImport
from desktop.services.rms.ingest import IngestResult
from desktop.services.rms.progress import IngestProgress
from desktop.views.ops import BackgroundOperation, Progress, ProgressUpdate, run_in_background

__all__ = ["ImportDialog", "result_text"]

#: The bar's resolution (per mille of the file read).
STEPS = 1000


def result_text(result: IngestResult, name: str, org: str) -> str:
    """What an import did, in a person's words (the dialog's last line)."""
    counts = f"{result.ingested:,} ingested, {result.quarantined:,} quarantined"
    if result.unchanged:
        counts += f", {result.unchanged:,} already here (unchanged)"
    if result.duplicates:
        counts += f", {result.duplicates:,} exact duplicate{'' if result.duplicates == 1 else 's'} skipped"
    if result.conflicts:
        counts += f", {result.conflicts:,} conflicting (not applied)"
    if result.cancelled:
        rest = (f"{result.not_read:,} records in the file were not read" if result.not_read is not None
                else "the rest of the file was not read")
        return (f"Import of {name} into {org} stopped: {result.read:,} records were saved ({counts}); {rest}. "
                "Importing the same file again is safe: it skips what is saved.")
    text = f"Imported {name} into {org}: {result.read:,} records ({counts})."
    if result.quarantined:
        text += " Quarantined returns are on this page under Quarantined, each with its reason and fix."
    return text


class ImportDialog(QDialog):
    """One import: its progress, its Cancel, and then its outcome (see the module docstring)."""

    def __init__(self, parent: QWidget, importer: ReturnsFileImport, actor: Actor, path: Path, org: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import returns")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(520)
        self._importer, self._actor, self._path, self._org = importer, actor, path, org
        self.heading = QLabel(f"Importing {path.name} into {org}…")
        self.heading.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, STEPS)
        self.bar.setValue(0)
        self.bar.setAccessibleName("Part of the file read")
        self.counts = QLabel("Starting…")
        self.counts.setWordWrap(True)
        self.counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.cancel_button: QPushButton = self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setToolTip("Stop after the batch being written; what is saved stays saved")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        layout = QVBoxLayout(self)
        for widget in (self.heading, self.bar, self.counts, self.buttons):
            layout.addWidget(widget)
        self.outcome: IngestResult | None = None
        self.failure: BaseException | None = None
        self.op: BackgroundOperation[IngestResult] | None = None

    def start(self) -> BackgroundOperation[IngestResult]:
        """Show the dialog and start the import on a worker."""
        importer, actor, path, org = self._importer, self._actor, self._path, self._org

        def work(progress: Progress) -> IngestResult:
            def report(p: IngestProgress) -> None:
                fraction = p.fraction
                progress.report(round(fraction * STEPS) if fraction is not None else 0, STEPS, p.summary())

            return importer.run(actor, path, org, progress=report, cancelled=lambda: progress.cancelled)

        self.op = run_in_background(self, work, on_success=self._on_done, on_failure=self._on_failed,
                                    on_progress=self._on_progress, label="Importing returns", long_running=True)
        self.show()
        return self.op

    # --- callbacks (GUI thread) -------------------------------------------------------------------------
    def _on_progress(self, update: ProgressUpdate) -> None:
        self.bar.setValue(update.done)
        if update.message:
            self.counts.setText(update.message)

    def _on_cancel_clicked(self) -> None:
        if self.op is None or self.op.done:
            self.accept()
            return
        self.op.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Stopping…")
        self.heading.setText(f"Stopping the import of {self._path.name} after the batch being written…")

    def _finish(self, text: str) -> None:
        self.heading.setText(text)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self.cancel_button.setToolTip("")

    def _on_done(self, result: IngestResult) -> None:
        self.outcome = result
        if not result.cancelled:
            self.bar.setValue(STEPS)
        self.counts.setText("")
        self._finish(result_text(result, self._path.name, self._org))

    def _on_failed(self, exc: BaseException) -> None:
        self.failure = exc
        self.counts.setText("Batches committed before the failure stay saved; importing the same file again is "
                            "safe: it skips what is saved.")
        self._finish(f"The import of {self._path.name} stopped: {exc}")
