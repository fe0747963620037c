"""Every status the app shows, in words a person knows — the one map, shared by all grids.

A return's sync status, a ledger document's state and a variance's review status each have a
label (what the screen says) and a colour (the pill's, chosen to read on light and dark cards
alike). :func:`status_label` is how any view turns a stored value into words; a value not listed
still never reaches the screen raw (underscores become spaces, first letter capitalised).
"""

from __future__ import annotations

__all__ = ["STATUSES", "status_colour", "status_label"]

STATUSES: dict[str, tuple[str, str]] = {
    # returns
    "new": ("New", "#3b82f6"),
    "ready": ("Ready to post", "#7c5cd6"),
    "posted": ("Posted", "#1f9d55"),
    "quarantined": ("Held: needs a person", "#dc3545"),
    "attention": ("Needs attention", "#dc3545"),  # held, or a document failed or was stopped
    "superseded": ("Older revision", "#7b8594"),  # the RMS has sent a newer one since
    "ignored": ("Ignored", "#7b8594"),
    # ledger documents
    "pending": ("Pending", "#3b82f6"),
    "in_flight": ("Sending", "#7c5cd6"),
    "failed": ("Retrying", "#d97706"),
    "uncertain": ("Sent, outcome unknown", "#d97706"),
    "awaiting_adoption": ("Awaiting adoption", "#d97706"),
    "void_pending": ("Being taken back", "#d97706"),
    "voided": ("Taken back (run undone)", "#7b8594"),
    # reconciliation variances
    "open": ("Open: to review", "#d97706"),
    "accepted": ("Accepted with a note", "#1f9d55"),
    "resolved": ("Resolved", "#1f9d55"),
}
_GREY = "#7b8594"


def status_label(status: str) -> str:
    """What the screen says for the stored status ``status``."""
    return STATUSES.get(status, (status.replace("_", " ").capitalize(), ""))[0]


def status_colour(status: str) -> str:
    return STATUSES.get(status, ("", _GREY))[1]
