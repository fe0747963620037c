"""Mappings: RMS return codes → ledger accounts, tax codes, items and tracking, per organization.

The page hosts :class:`~desktop.views.mapping.editor.MappingEditor` driven by
:class:`~desktop.views.mapping.actions.MappingActions`. Without a mapping service (a bare
window) it shows what the page is for and where to start instead.
"""

from __future__ import annotations

from desktop.views.mapping.actions import MappingActions
from desktop.views.mapping.editor import MappingEditor
from desktop.views.pages.base import Page
from desktop.views.pages.info import PAGE_INFO


class MappingsPage(Page):
    """Versioned mapping sets, edited by drag and drop and validated against the chart of accounts."""

    info = PAGE_INFO["mappings"]

    def build(self) -> None:
        self.editor: MappingEditor | None = None
        self.actions_: MappingActions | None = None
        services = self.context.services
        service = services.mapping
        if service is None:
            self.add_empty_state(
                "No mapping set yet",
                "Once a ledger is connected, start from the default template for QuickBooks Online or "
                "Xero and adjust it. Unmapped codes are caught before anything is posted.",
                action="Go to Connections", target="connections",
            )
            return
        self.body.setContentsMargins(40, 28, 40, 24)
        self.editor = MappingEditor(self.context.actor)
        self.editor.setMinimumHeight(520)
        self.body.addWidget(self.editor, 20)
        self.empty_state = self.add_empty_state(
            "No organizations yet",
            "Organizations appear here once the returns system has been read or a ledger connected. "
            "Each keeps its own versioned mapping.", action="Go to Connections", target="connections")
        self.empty_state.setVisible(False)
        self.actions_ = MappingActions(self.editor, service, services.mapping_impact, services.organizations)
        self.actions_.organizations_loaded.connect(self._on_actions_organizations_loaded)
        self.actions_.reload_organizations()

    def activated(self) -> None:
        """Organizations connected since the page was built appear; unsaved edits are never disturbed."""
        if self.actions_ is not None and self.editor is not None and self.editor.undo_stack.isClean():
            self.actions_.reload_organizations()

    def _on_actions_organizations_loaded(self, orgs: list[str]) -> None:
        if self.editor is not None:
            self.editor.setVisible(bool(orgs))
        self.empty_state.setVisible(not orgs)
