"""Returns: every return pulled from the RMS and the ledger documents it produced."""

from __future__ import annotations

from desktop.views.pages.base import Page, PageInfo


class ReturnsPage(Page):
    """The returns grid and each document's state (pending, posted, quarantined…)."""

    info = PageInfo(
        key="returns", title="Returns", icon="returns",
        description=(
            "Every return pulled from the RMS, with the documents it produced in the ledger — credit "
            "memos, refund receipts, credit notes and journals — and where each one stands: pending, "
            "posted, quarantined for review, or changed in the ledger since."
        ),
    )

    def build(self) -> None:
        self.add_empty_state(
            "No returns yet",
            "Returns appear here after the first pull from the returns system. Anything pre-flight "
            "holds back is shown with the reason and the fix, ready to retry.",
            action="Connect the returns system", target="connections",
        )
