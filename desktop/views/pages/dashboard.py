"""Dashboard: the product's three promised metrics and sync health, per organization."""

from __future__ import annotations

from desktop.views.pages.base import MetricCard, Page, PageInfo


class DashboardPage(Page):
    """Headline metrics (empty until the first sync) and where to start."""

    info = PageInfo(
        key="dashboard", title="Dashboard", icon="dashboard",
        description=(
            "Sync health at a glance: how accurately transactions reach the ledger, how long it takes "
            "for a return to be verified in the books, and how many manual-entry errors pre-flight "
            "checks stopped — per organization and over time."
        ),
    )

    def build(self) -> None:
        self.metrics = [
            MetricCard("Transaction sync accuracy", "Posted without correction, last 30 days"),
            MetricCard("Average time to reconcile", "From RMS event to verified in the books"),
            MetricCard("Manual entry errors prevented", "Caught by pre-flight or duplicate checks"),
        ]
        self.add_row(*self.metrics)
        self.add_empty_state(
            "Nothing has synced yet",
            "Connect a QuickBooks Online or Xero ledger and your returns system. The figures above "
            "fill in after the first sync, and this page charts them over time.",
            action="Connect a ledger", target="connections",
        )
