"""What a reviewer does to a variance: accept or resolve it with a note (several at once, too), re-post,
adopt, void, adjust, audit pack.

The page's buttons call these; every service call runs through ``run_in_background`` and the
services check permissions and audit. The page is seen through :class:`ReviewView`, so this
module never imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMessageBox, QWidget

from desktop.views.context import ShellContext
from desktop.views.ops import run_in_background
from desktop.views.reconcile.adjust_dialog import AdjustDialog
from desktop.views.returns.bulk import BulkOutcome, reason
from desktop.views.returns.services import services_for

if TYPE_CHECKING:
    from desktop.services.reconcile.service import ReconcileService
__all__ = ["ReviewView", "VarianceActions"]


class ReviewView(Protocol):
    """What the actions use of the Reconciliation page."""

    context: ShellContext
    status_label: QLabel

    @property
    def org(self) -> str: ...
    def current_row(self) -> dict[str, Any] | None: ...
    def selected_rows(self) -> list[dict[str, Any]]: ...
    def reload(self) -> None: ...
    def reload_queue(self) -> None: ...


class VarianceActions(QObject):
    """The review actions on the page's current variance; ``widget`` (the page) parents dialogs and work."""

    def __init__(self, view: ReviewView, widget: QWidget, service: ReconcileService) -> None:
        super().__init__(widget)
        self.view = view
        self.widget = widget
        self.service = service
        self.note_dialog: QInputDialog | None = None
        self.adjust_dialog: AdjustDialog | None = None

    def _reload(self, _result: object = None) -> None:
        self.view.reload()

    def actor(self) -> Any:
        svc = services_for(self.view.context)
        return svc.actor if svc else None

    def ask_note(self, what: str) -> None:
        """Ask for the audit note, then accept or resolve: the current variance, or — when several are
        selected — every open one selected, after this one question that says how many."""
        many = [r for r in self.view.selected_rows() if r.get("status") == "open"]
        row = self.view.current_row()
        if len(many) < 2:
            if row is None or row.get("status") != "open":
                return
            many = [row]
        verb = "Accept" if what == "accept" else "Resolve"
        dialog = QInputDialog(self.widget)
        if len(many) == 1:
            dialog.setWindowTitle(f"{verb} variance")
            dialog.setLabelText("Note for the audit log (why this is fine / what was corrected):")
        else:
            dialog.setWindowTitle(f"{verb} {len(many)} variances")
            dialog.setLabelText(f"{verb} the {len(many)} selected open variances. One note for the audit log, "
                                "kept with each (why they are fine / what was corrected):")
            dialog.setOkButtonText(f"{verb} {len(many)}")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        ids = [(int(r["id"]), str(r.get("rma") or f"variance {r['id']}")) for r in many]
        if len(ids) == 1:
            dialog.textValueSelected.connect(lambda note: self.review(what, ids[0][0], note))
        else:
            dialog.textValueSelected.connect(lambda note: self.review_many(what, ids, note))
        dialog.open()
        self.note_dialog = dialog

    def review(self, what: str, variance_id: int, note: str) -> None:
        """Accept or resolve through the service (permission-checked, audited), then refresh."""
        actor, service = self.actor(), self.service
        fn = service.accept if what == "accept" else service.resolve
        run_in_background(self.widget, lambda _p: fn(actor, variance_id, note), on_success=self._reload,
                          label=f"{what.capitalize()} variance")

    def review_many(self, what: str, variances: list[tuple[int, str]], note: str) -> None:
        """The single action's service call for each (id, RMA), one after another on a worker; one summary
        of how many were done and why any was refused (the service checks permission and audits each)."""
        actor, service = self.actor(), self.service
        fn = service.accept if what == "accept" else service.resolve

        def work(_p: object) -> BulkOutcome:
            out = BulkOutcome(verb="accepted" if what == "accept" else "resolved")
            for variance_id, rma in variances:
                try:
                    fn(actor, variance_id, note)
                except Exception as exc:  # a refusal (permission, a note missing…) is reported per variance
                    out.refused.append((rma, reason(exc)))
                else:
                    out.done += 1
            return out

        def done(out: BulkOutcome) -> None:
            self.view.status_label.setText(out.summary())
            self.view.reload_queue()

        run_in_background(self.widget, work, on_success=done, label=f"{what.capitalize()} {len(variances)} variances")

    def manual(self) -> Any:
        svc = services_for(self.view.context)
        return svc.manual if svc else None

    def repost(self) -> None:
        row, manual, actor, org = self.view.current_row(), self.manual(), self.actor(), self.view.org
        if row and manual:
            rma = str(row["rma"])
            run_in_background(self.widget, lambda _p: manual.replan(actor, org, rma), on_success=self._reload,
                              label="Re-post")

    def adopt(self) -> None:
        row, manual, actor = self.view.current_row(), self.manual(), self.actor()
        if not (row and manual):
            return
        key = str(row["key"])
        dialog = QInputDialog(self.widget)
        dialog.setWindowTitle("Adopt ledger document")
        dialog.setLabelText("This document is already in the ledger as number:")
        dialog.setTextValue(str(row.get("ledger_id") or ""))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(lambda number: run_in_background(
            self.widget, lambda _p: manual.adopt_document(actor, key, number), on_success=self._reload,
            label="Adopt"))
        dialog.open()

    def void(self) -> None:
        row, manual, actor = self.view.current_row(), self.manual(), self.actor()
        if not (row and manual):
            return
        key = str(row["key"])
        box = QMessageBox(QMessageBox.Icon.Warning, "Void duplicate",
                          f"Void the duplicate {row.get('doc_type')} {row.get('ledger_id')} in the ledger?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.widget)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda: run_in_background(self.widget, lambda _p: manual.void(actor, key),
                                                       on_success=self._reload, label="Void"))
        box.open()

    def adjust(self) -> None:
        row, services = self.view.current_row(), self.view.context.services
        if row is None or services.adjust is None:
            return
        self.adjust_dialog = AdjustDialog(
            self.widget, services.adjust, services.mapping, self.actor(), self.view.org, row,
            lambda key: self.view.status_label.setText(f"Adjusting journal queued ({key})."))
        self.adjust_dialog.open()

    def audit_pack(self) -> None:
        row = self.view.current_row()
        if row is None or not row.get("rma"):
            return
        rma = str(row["rma"])
        dialog = QFileDialog(self.widget, "Save audit pack", f"audit-pack-{self.view.org}-{rma}.json",
                             "JSON files (*.json)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda chosen: self.save_audit_pack(rma, Path(chosen)))
        dialog.open()

    def save_audit_pack(self, rma: str, path: Path) -> None:
        """RMS record → mapping version → payload → ledger response → status, as one JSON file."""
        packs, org = self.view.context.services.audit_packs, self.view.org
        if packs is None:
            self.view.status_label.setText("Audit packs are not available in this window.")
            return
        run_in_background(self.widget, lambda _p: packs.save(org, rma, path),
                          on_success=lambda p: self.view.status_label.setText(f"Saved the audit pack to {p.name}."),
                          label="Audit pack")
