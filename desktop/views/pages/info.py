"""Every page's identity in one table: key, title, sidebar icon and the blurb under the title.

One table rather than a block in each page module: the sidebar, the shortcuts, the screenshot
file names and the page headers all read these facts, and keeping them together makes the
sidebar's wording reviewable in one place. A page's key is also its icon's name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """Identity of a page: a stable key (file names, settings), its title, icon and blurb."""

    key: str
    title: str
    icon: str
    description: str


_PAGES: tuple[PageInfo, ...] = (
    PageInfo("dashboard", "Dashboard", "dashboard", (
        "Sync health at a glance: how accurately transactions reach the ledger, how long it takes "
        "for a return to be verified in the books, and how many problems pre-flight and duplicate "
        "checks stopped before the ledger — per organization and over time. Below: the sync runs, "
        "what each posted, and undoing one."
    )),
    PageInfo("connections", "Connections", "connections", (
        "Connect each client organization's general ledger — QuickBooks Online or Xero — and your "
        "Returns Management System. Sign-in happens in an embedded browser; access tokens stay in "
        "the operating system's keyring, never in files or the database."
    )),
    PageInfo("mappings", "Mappings", "mappings", (
        "Map return reasons, dispositions, fee types, tax jurisdictions and sales channels to the "
        "ledger's accounts, tax codes, items and tracking — by drag and drop, per organization. "
        "Every rule is checked against the live chart of accounts, versioned and audited."
    )),
    PageInfo("returns", "Returns", "returns", (
        "Every return pulled from the RMS, with the documents it produced in the ledger — credit "
        "memos, refund receipts, credit notes and journals — and where each one stands: pending, "
        "posted, held for a person to review, or changed in the ledger since."
    )),
    PageInfo("reconciliation", "Reconciliation", "reconciliation", (
        "Compare returns-system totals with the local record and the ledger, per organization, "
        "day and currency. Differences are classified — missing, duplicated, edited or voided in "
        "the ledger, rounding — and queued for review with the documents behind them."
    )),
    PageInfo("manual_entry", "Manual entry", "manual_entry", (
        "When sync is down, enter a return's ledger documents by hand. The same pre-flight checks "
        "and idempotency keys apply as for automatic sync, so a document is never posted twice — "
        "not even when sync comes back."
    )),
    PageInfo("audit_log", "Audit log", "audit_log", (
        "An append-only, sealed record of who did what: every document posted, adopted, voided or "
        "written back, every sync run, and every change to connections, mappings, users and settings. "
        "Verify the trail at any time to prove nothing was altered, removed or cut off after the fact."
    )),
    PageInfo("settings", "Settings", "settings", (
        "Who may do what (users and roles), the ledger apps this installation signs in with, the exchange "
        "rates Xero needs, each organization's posting choices, and this workstation's appearance. Changes to "
        "users, rates and posting choices are recorded in the audit log."
    )),
)

#: Each page's identity by key, in sidebar order; a page class sets ``info = PAGE_INFO["<key>"]``.
PAGE_INFO: dict[str, PageInfo] = {page.key: page for page in _PAGES}

__all__ = ["PAGE_INFO", "PageInfo"]
