"""Reading a ledger's documents for a period back, and single documents by id.

Through the connection's :class:`~desktop.services.platforms.interface.LedgerPlatform`:
:meth:`~LedgerPlatform.documents_dated` (every document of the kinds we post dated in the period,
paged to exhaustion; voided documents stay in the answer, deleted ones may vanish, so a posted
document the period read lacks is read by id) and :meth:`~LedgerPlatform.document` (a platform's
"does not exist" — QBO fault 610, Xero HTTP 404 — confirms a deletion).

Documents are normalised with the platform's own view (one notion of "our key", status and
totals across the app, shared with the pull direction) plus what only reconciliation needs: the
exchange rate and the accounts.
"""

from __future__ import annotations

from collections.abc import Iterable

from desktop.services.core.errors import NeedsPersonError
from desktop.services.platforms.interface import LedgerPlatform, PlatformProfile
from desktop.services.platforms.shapes import RemoteDoc
from desktop.services.reconcile.model import LedgerDoc, Period

__all__ = ["LedgerReader", "ledger_doc"]


def ledger_doc(profile: PlatformProfile, doc: RemoteDoc) -> LedgerDoc:
    """A document read from the ledger as reconciliation compares it."""
    base = profile.view(doc.doc_type, doc.raw)
    return LedgerDoc(base.doc_type, base.remote_id, base.status, base.total, base.tax, base.txn_date,
                     base.currency, profile.rate_of(doc.doc_type, doc.raw), base.our_key, base.number,
                     profile.accounts_of(doc.raw), max(1, len(base.lines or ())))


class LedgerReader:
    """Reads one connection's ledger through its :class:`LedgerPlatform`."""

    def __init__(self, ledger: LedgerPlatform) -> None:
        self._ledger = ledger
        self.platform = ledger.profile.key

    def period(self, period: Period) -> list[LedgerDoc]:
        """Every transaction of the kinds we post, dated in ``period``."""
        profile = self._ledger.profile
        return [ledger_doc(profile, d) for d in self._ledger.documents_dated(period.start, period.end)]

    def by_id(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LedgerDoc | None]:
        """Documents one by one; ``None`` for one the ledger says does not exist (deleted)."""
        out: dict[tuple[str, str], LedgerDoc | None] = {}
        for doc_type, remote_id in wanted:
            try:
                out[(doc_type, remote_id)] = ledger_doc(self._ledger.profile,
                                                        self._ledger.document(doc_type, remote_id))
            except NeedsPersonError as exc:
                if exc.platform_code not in self._ledger.gone_codes:
                    raise
                out[(doc_type, remote_id)] = None
        return out
