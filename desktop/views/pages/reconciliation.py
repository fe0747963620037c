"""Reconciliation: where RMS totals and ledger totals disagree, and why."""

from __future__ import annotations

from desktop.views.pages.base import Page, PageInfo


class ReconciliationPage(Page):
    """Variance review: RMS ⟷ local record ⟷ ledger, per organization, day and currency."""

    info = PageInfo(
        key="reconciliation", title="Reconciliation", icon="reconciliation",
        description=(
            "Compare returns-system totals with the local record and the ledger, per organization, "
            "day and currency. Differences are classified — missing, duplicated, edited or voided in "
            "the ledger, rounding — and queued for review with the documents behind them."
        ),
    )

    def build(self) -> None:
        self.add_empty_state(
            "Nothing to reconcile yet",
            "Reconciliation runs after each sync. When the books and the returns system agree, this "
            "page says so; when they don't, it shows exactly where.",
            action="View returns", target="returns",
        )
