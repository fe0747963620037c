"""What the editor asks of the services — load, save, preview, import, export — all off the GUI thread.

Every call goes through ``run_in_background``; results come back to the GUI thread and only then
touch widgets. Dialogs open with ``open()`` (no nested event loop). Signals say when something
finished, so the page (and tests) can wait on them instead of sleeping.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.services.core.errors import AppError
from desktop.services.core.progress import write_file
from desktop.services.mapping.diff import RuleDiff
from desktop.services.mapping.impact import MappingImpact
from desktop.services.mapping.io import dumps, export_document, loads, rules_from_document
from desktop.services.mapping.service import MappingService, MappingSetView
from desktop.services.queries.organizations import OrganizationDirectory
from desktop.views.csv_export import choose_and_export, export_csv
from desktop.views.mapping.dialogs import PreviewDialog, SaveDialog
from desktop.views.mapping.editor import MappingEditor
from desktop.views.mapping.impact import OrgBundle, ReturnImpact, load_bundle, recent_impact
from desktop.views.ops import run_in_background

log = logging.getLogger(__name__)


class MappingActions(QObject):
    """Drives one :class:`MappingEditor` against a :class:`MappingService`.

    ``impact`` answers the preview on recent returns and ``organizations`` fills the picker; both
    come from the shell's services (None of either: that part says it is unavailable).
    """

    organizations_loaded = Signal(list)
    loaded = Signal(str)
    saved = Signal(int)
    previewed = Signal(object)
    imported = Signal(int)
    exported = Signal(str)
    failed = Signal(str)

    def __init__(self, editor: MappingEditor, service: MappingService, impact: MappingImpact | None,
                 organizations: OrganizationDirectory | None) -> None:
        super().__init__(editor)
        self.editor = editor
        self.service = service
        self.impact = impact
        self.organizations = organizations
        self.dialog: Any = None
        self._current = ""
        e = editor
        e.org_combo.activated.connect(self._on_org_combo_activated)
        e.buttons["save"].clicked.connect(self.save)
        e.save_action.triggered.connect(self.save)
        e.buttons["preview"].clicked.connect(self.preview)
        e.preview_action.triggered.connect(self.preview)
        e.buttons["import"].clicked.connect(self.choose_import)
        e.buttons["export"].clicked.connect(self.choose_export)
        e.export_csv_button.clicked.connect(self.choose_csv)

    @property
    def org(self) -> str:
        return self._current

    def _fail(self, what: str) -> Any:
        def handler(exc: BaseException) -> None:
            if isinstance(exc, AppError):
                text = f"{what} failed: {exc.user_message()}"
                log.info(text)
            else:
                log.error("%s failed unexpectedly", what, exc_info=(type(exc), exc, exc.__traceback__))
                text = f"{what} failed unexpectedly; the details are in the log file."
            self.editor.say(text, error=True)
            self.failed.emit(text)
        return handler

    # --- loading ----------------------------------------------------------------------------------
    def reload_organizations(self) -> None:
        directory = self.organizations
        run_in_background(self.editor, lambda _p: directory.names() if directory is not None else [],
                          on_success=self._on_organizations, on_failure=self._fail("Loading organizations"),
                          label="Load organizations")

    def _on_organizations(self, orgs: list[tuple[str, str]]) -> None:
        combo = self.editor.org_combo
        combo.blockSignals(True)
        combo.clear()
        for code, name in orgs:
            combo.addItem(f"{code} — {name}" if name and name != code else code, code)
        combo.blockSignals(False)
        self.organizations_loaded.emit([c for c, _ in orgs])
        if orgs:
            keep = self._current if self._current in [c for c, _ in orgs] else orgs[0][0]
            combo.setCurrentIndex(combo.findData(keep))
            self.load(keep)

    def load(self, org: str) -> None:
        self._current = org
        self.editor.say(f"Loading {org}…")
        run_in_background(self.editor, lambda _p: load_bundle(self.service, org), on_success=self._on_loaded,
                          on_failure=self._fail(f"Loading {org}"), label=f"Load mapping of {org}")

    def _on_loaded(self, bundle: OrgBundle) -> None:
        if bundle.org != self._current:
            return  # the user picked another organization meanwhile
        self.editor.show_bundle(bundle)
        if bundle.snapshot is None or not bundle.snapshot.accounts:
            self.editor.say(f"{bundle.org} has no cached chart of accounts yet: connect its ledger and refresh its "
                            "reference data on the Connections page, then come back.", error=True)
        elif not bundle.rules:
            self.editor.say(f"{bundle.org} has no mapping yet: import the default template (Import…) or drag codes "
                            "onto accounts.")
        else:
            self.editor.say(f"{bundle.org}: version {bundle.version}, {len(bundle.rules)} rules, checked against "
                            f"{len(bundle.snapshot.accounts)} accounts.")
        self.loaded.emit(bundle.org)

    def _on_org_combo_activated(self, index: int) -> None:
        org = str(self.editor.org_combo.itemData(index))
        if org == self._current:
            return
        if self.editor.undo_stack.isClean():
            self.load(org)
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Discard unsaved changes?",
                          f"The rules of {self._current} have unsaved changes. Switch to {org} and discard them?",
                          QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel, self.editor)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = box

        def done(button: int) -> None:
            if QMessageBox.StandardButton(button) == QMessageBox.StandardButton.Discard:
                self.load(org)
            else:
                self.editor.org_combo.setCurrentIndex(self.editor.org_combo.findData(self._current))
        box.finished.connect(lambda _r: done(box.standardButton(box.clickedButton())))
        box.open()

    # --- saving -----------------------------------------------------------------------------------
    def save(self) -> None:
        bundle, rules = self.editor.bundle, self.editor.rules
        if bundle is None or not self.editor.buttons["save"].isEnabled():
            return
        run_in_background(self.editor, lambda _p: self.service.preview(bundle.org, rules),
                          on_success=lambda diff: self._confirm_save(bundle, rules, diff),
                          on_failure=self._fail("Comparing with the active version"), label="Compare mapping")

    def _confirm_save(self, bundle: OrgBundle, rules: tuple[Any, ...], diff: RuleDiff) -> None:
        next_version = (bundle.history[0].version if bundle.history else 0) + 1
        dialog = SaveDialog(self.editor, bundle.org, next_version, diff, self.editor.problems, bundle.snapshot)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._save(bundle.org, rules, dialog.note))
        self.dialog = dialog
        dialog.open()

    def _save(self, org: str, rules: tuple[Any, ...], note: str | None) -> None:
        actor = self.editor.actor
        if actor is None:
            return
        self.editor.say(f"Saving {org}…")
        run_in_background(self.editor, lambda _p: self.service.save(org, rules, actor, note),
                          on_success=self._on_saved, on_failure=self._fail("Saving"), label="Save mapping")

    def _on_saved(self, view: MappingSetView) -> None:
        self.editor.say(f"Saved {view.organization_code} version {view.version}; " + (
            "it is active now." if view.is_active else "it waits for a second admin's approval (Dashboard)."))
        self.saved.emit(view.version)
        self.load(view.organization_code)

    # --- preview ----------------------------------------------------------------------------------
    def preview(self) -> None:
        bundle, rules = self.editor.bundle, self.editor.rules
        if bundle is None or not self.editor.buttons["preview"].isEnabled():
            return
        impact = self.impact
        if impact is None:
            self.editor.say("The preview on recent returns is not available in this window.", error=True)
            return
        self.editor.say(f"Checking {bundle.org}'s recent returns against the edited rules…")
        run_in_background(self.editor, lambda _p: recent_impact(impact, bundle.org, bundle.rules, rules,
                                                                bundle.snapshot),
                          on_success=lambda result: self._on_previewed(bundle.org, *result),
                          on_failure=self._fail("Preview"), label="Preview mapping on recent returns")

    def _on_previewed(self, org: str, checked: int, rows: list[ReturnImpact]) -> None:
        self.editor.say(f"{len(rows)} of {checked} recent returns would post differently.")
        dialog = PreviewDialog(self.editor, org, checked, rows)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        self.previewed.emit(rows)

    # --- files ------------------------------------------------------------------------------------
    def _file_dialog(self, title: str, save: bool, name: str = "") -> QFileDialog:
        dialog = QFileDialog(self.editor, title, name, "Mapping files (*.yaml *.yml *.json)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave if save else QFileDialog.AcceptMode.AcceptOpen)
        if save:
            dialog.setDefaultSuffix("yaml")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        return dialog

    def choose_import(self) -> None:
        dialog = self._file_dialog("Import a mapping file", save=False)
        dialog.fileSelected.connect(lambda chosen: self.import_file(Path(chosen)))
        dialog.open()

    def import_file(self, path: Path) -> None:
        """Read ``path`` into the editor as one undoable change; nothing is saved until Save."""
        bundle = self.editor.bundle
        if bundle is None:
            return

        def read(_p: Any) -> tuple[list[Any], list[Any]]:
            document = loads(path.read_text(encoding="utf-8"), "json" if path.suffix == ".json" else None)
            return rules_from_document(document, bundle.snapshot)

        run_in_background(self.editor, read, on_success=lambda result: self._on_imported(path, *result),
                          on_failure=self._fail(f"Importing {path.name}"), label=f"Import {path.name}")

    def _on_imported(self, path: Path, rules: list[Any], problems: list[Any]) -> None:
        self.editor.push(f"Import {path.name}", tuple(rules))
        found = f"; {len(problems)} reference(s) not found: {problems[0].message}" if problems else ""
        self.editor.say(f"Imported {len(rules)} rules from {path.name} (not saved yet){found}", error=bool(problems))
        self.imported.emit(len(rules))

    def choose_export(self) -> None:
        bundle = self.editor.bundle
        name = f"{bundle.org.lower()}-mapping.yaml" if bundle else "mapping.yaml"
        dialog = self._file_dialog("Export the mapping", save=True, name=name)
        dialog.fileSelected.connect(lambda chosen: self.export_file(Path(chosen)))
        dialog.open()

    def export_file(self, path: Path) -> None:
        bundle, rules = self.editor.bundle, self.editor.rules
        if bundle is None:
            return

        def write(_p: Any) -> Path:
            doc = export_document(rules, snapshot=bundle.snapshot, organization=bundle.org,
                                  version=bundle.version or None)
            return write_file(path, dumps(doc, "json" if path.suffix == ".json" else "yaml"), what="mapping export")

        run_in_background(self.editor, write, on_success=self._on_exported, on_failure=self._fail("Export"),
                          label=f"Export {path.name}")

    def _on_exported(self, path: Path) -> None:
        self.editor.say(f"Wrote {len(self.editor.rules)} rules to {path}")
        self.exported.emit(str(path))

    def choose_csv(self) -> None:
        self.dialog = choose_and_export(self.editor, "Export the rules as CSV", "mapping-rules.csv", self.export_csv)

    def export_csv(self, path: Path) -> None:
        export_csv(self.editor, path, self.editor.rules_filter, view=self.editor.table,
                   on_done=lambda p, n: self.editor.say(f"Wrote {n} rules to {p}"))
