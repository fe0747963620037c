"""Audit log: the append-only, hash-chained record of who changed what."""

from __future__ import annotations

from desktop.views.pages.base import Page, PageInfo


class AuditLogPage(Page):
    """Audit trail viewer with chain verification."""

    info = PageInfo(
        key="audit_log", title="Audit log", icon="audit_log",
        description=(
            "An append-only, hash-chained record of every change: connections, mapping rules, manual "
            "postings, retries and settings — who, when and what. Verify the chain at any time to "
            "prove nothing was altered after the fact."
        ),
    )

    def build(self) -> None:
        self.add_empty_state(
            "No audit entries yet",
            "Entries are added as people connect ledgers, edit mappings or post by hand. They can be "
            "filtered, exported to CSV and verified.",
        )
