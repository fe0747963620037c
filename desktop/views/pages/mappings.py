"""Mappings: RMS return codes → ledger accounts, tax codes, items and tracking, per organization."""

from __future__ import annotations

from desktop.views.pages.base import Page, PageInfo


class MappingsPage(Page):
    """Versioned mapping sets, edited by drag and drop and validated against the chart of accounts."""

    info = PageInfo(
        key="mappings", title="Mappings", icon="mappings",
        description=(
            "Map return reasons, dispositions, fee types, tax jurisdictions and sales channels to the "
            "ledger's accounts, tax codes, items and tracking — by drag and drop, per organization. "
            "Every rule is checked against the live chart of accounts, versioned and audited."
        ),
    )

    def build(self) -> None:
        self.add_empty_state(
            "No mapping set yet",
            "Once a ledger is connected, start from the default template for QuickBooks Online or "
            "Xero and adjust it. Unmapped codes are caught before anything is posted.",
            action="Go to Connections", target="connections",
        )
