"""Returns → "Import file…": an RMS export imported off the GUI thread, with counts, a bar and Cancel
(the long-operation dialog every long operation uses, :mod:`desktop.views.progress_dialog`).

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

from PySide6.QtWidgets import QWidget

from desktop.services.auth.roles import Actor
from desktop.services.rms.file_import import ReturnsFileImport
from desktop.services.rms.ingest import IngestResult
from desktop.services.rms.progress import IngestProgress
from desktop.views.ops import BackgroundOperation, Progress
from desktop.views.progress_dialog import OperationDialog

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


class ImportDialog(OperationDialog):
    """One import: its progress, its Cancel, and then its outcome (see the module docstring)."""

    def __init__(self, parent: QWidget, importer: ReturnsFileImport, actor: Actor, path: Path, org: str) -> None:
        super().__init__(parent, "Import returns", f"Importing {path.name} into {org}…",
                         stopping=f"Stopping the import of {path.name} after the batch being written…",
                         cancel_tip="Stop after the batch being written; what is saved stays saved", modal=True)
        self._importer, self._actor, self._path, self._org = importer, actor, path, org
        self.bar.setRange(0, STEPS)
        self.bar.setValue(0)
        self.bar.setFormat("%p%")  # the share of the file read; the counts are on the line below
        self.bar.setAccessibleName("Part of the file read")
        self.outcome: IngestResult | None = None

    def start(self) -> BackgroundOperation[IngestResult]:
        """Show the dialog and start the import on a worker."""
        importer, actor, path, org = self._importer, self._actor, self._path, self._org

        def work(progress: Progress) -> IngestResult:
            def report(p: IngestProgress) -> None:
                fraction = p.fraction
                progress.report(round(fraction * STEPS) if fraction is not None else 0, STEPS, p.summary())

            return importer.run(actor, path, org, progress=report, cancelled=lambda: progress.cancelled)

        return self.run(work, on_done=self._on_done, on_failed=self._on_failed, label="Importing returns")

    # --- outcomes (GUI thread) ----------------------------------------------------------------------------
    def _on_done(self, result: IngestResult) -> str:
        self.outcome = result
        self.counts.setText("")
        return result_text(result, self._path.name, self._org)

    def _on_failed(self, exc: BaseException) -> str:
        self.counts.setText("Batches committed before the failure stay saved; importing the same file again is "
                            "safe: it skips what is saved.")
        return f"The import of {self._path.name} stopped: {exc}"
