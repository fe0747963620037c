"""Reading a ledger's documents for a period back, and single documents by id.

Through the connection's :class:`~desktop.services.platforms.interface.LedgerPlatform`:
:meth:`~LedgerPlatform.documents_dated` (every document of the kinds we post dated in the period,
paged to exhaustion; voided documents stay in the answer, deleted ones may vanish, so a posted
document the period read lacks is read by id) and :meth:`~LedgerPlatform.document` (a platform's
"does not exist" — QBO fault 610, Xero HTTP 404 — confirms a deletion).

Documents are normalised with the platform's own view (one notion of "our key", status and
totals across the app, shared with the pull direction) plus what only reconciliation needs: the
exchange rate, the accounts and the quantity per item of a sales form's lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from desktop.services.core.errors import NeedsPersonError
from desktop.services.platforms.interface import DocView, LedgerPlatform, PlatformProfile
from desktop.services.platforms.shapes import RemoteDoc
from desktop.services.reconcile.model import Period

__all__ = ["LedgerReader", "ledger_doc"]


def ledger_doc(profile: PlatformProfile, doc: RemoteDoc) -> DocView:
    """A document read from the ledger as reconciliation compares it: the platform's view plus its
    exchange rate, accounts and item quantities."""
    return replace(profile.view(doc.doc_type, doc.raw), rate=profile.rate_of(doc.doc_type, doc.raw),
                   accounts=profile.accounts_of(doc.raw), items=profile.items_of(doc.doc_type, doc.raw))


class LedgerReader:
    """Reads one connection's ledger through its :class:`LedgerPlatform`."""

    def __init__(self, ledger: LedgerPlatform) -> None:
        self._ledger = ledger
        self.platform = ledger.profile.key

    def period(self, period: Period) -> list[DocView]:
        """Every transaction of the kinds we post, dated in ``period``."""
        profile = self._ledger.profile
        return [ledger_doc(profile, d) for d in self._ledger.documents_dated(period.start, period.end)]

    def by_id(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DocView | None]:
        """Documents one by one; ``None`` for one the ledger says does not exist (deleted)."""
        out: dict[tuple[str, str], DocView | None] = {}
        for doc_type, remote_id in wanted:
            try:
                out[(doc_type, remote_id)] = ledger_doc(self._ledger.profile,
                                                        self._ledger.document(doc_type, remote_id))
            except NeedsPersonError as exc:
                if exc.platform_code not in self._ledger.gone_codes:
                    raise
                out[(doc_type, remote_id)] = None
        return out
