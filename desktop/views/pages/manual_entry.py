"""Manual entry: post a return's documents by hand when sync is down, without double-posting."""

from __future__ import annotations

from desktop.views.pages.base import Page, PageInfo


class ManualEntryPage(Page):
    """The manual fallback, guarded by the same pre-flight checks and idempotency keys as sync."""

    info = PageInfo(
        key="manual_entry", title="Manual entry", icon="manual_entry",
        description=(
            "When sync is down, enter a return's ledger documents by hand. The same pre-flight checks "
            "and idempotency keys apply as for automatic sync, so a document is never posted twice — "
            "not even when sync comes back."
        ),
    )

    def build(self) -> None:
        self.add_empty_state(
            "Ready when you need it",
            "Pick an organization and a return to prepare its documents. You will see a balanced "
            "debit/credit preview before anything is posted.",
            action="Choose a return", target="returns",
        )
