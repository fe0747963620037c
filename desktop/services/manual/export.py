"""Export for a manual import: the pending documents in the ledger's own import CSV.

:meth:`ManualEntryService.export_csv` plans the organization's pending (not yet posted) documents
exactly as the sync would post them and hands them to the platform's own renderer
(:meth:`~desktop.services.platforms.interface.PlatformProfile.manual_import_csv`: QuickBooks' journal
import, every document in one file; Xero's credit-note import template, with a dearer exchange's
invoices and the payments in further files (``ExportResult.files``) — the formats are described in
:mod:`desktop.services.platforms.import_csv`), which writes through the app's one CSV writer, so
text from the RMS cannot become a spreadsheet formula.
"""

from __future__ import annotations

import sqlalchemy as sa

from desktop.services.core.errors import NeedsPersonError
from desktop.services.manual.model import ExportResult
from desktop.services.manual.validate import Planning
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.platforms.import_csv import ImportDoc, ImportLine
from desktop.services.platforms.registry import platform_for
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Return

__all__ = ["Exporting"]


class Exporting(Planning):
    """``export_csv`` of :class:`~desktop.services.manual.service.ManualEntryService`."""

    def export_csv(self, org: str) -> ExportResult:
        """Pending (not yet posted) documents of ``org`` in its ledger's own import CSV."""
        with self._db.session() as s:
            o = s.scalar(sa.select(Organization).where(Organization.code == org))
            if o is None:
                raise NeedsPersonError(f"There is no organization {org!r}")
            profile = platform_for(o.platform)
            pending = list(s.execute(sa.select(Return.rma_number, OutboxDocument.idempotency_key).join(
                Return, Return.id == OutboxDocument.return_id).where(
                OutboxDocument.organization_id == o.id,
                OutboxDocument.status.in_((OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.QUARANTINED)))
                .order_by(OutboxDocument.id)))
        wanted: dict[str, set[str]] = {}
        for rma, key in pending:
            wanted.setdefault(rma, set()).add(key)
        docs: list[ImportDoc] = []
        for rma, keys in wanted.items():
            prepared = self.prepare(org, rma)
            docs += [_import_doc(d, rma) for d in prepared.documents if d.idempotency_key in keys]
        sheet = profile.manual_import_csv(docs)
        return ExportResult(sheet.text, sheet.rows, sheet.documents, list(sheet.skipped), dict(sheet.files))


def _import_doc(doc: LedgerDocument, rma: str) -> ImportDoc:
    """A planned document as the platform's import renderer reads it."""
    lines = tuple(ImportLine(ln.account_name, ln.debit.amount if ln.debit is not None else None,
                             ln.credit.amount if ln.credit is not None else None, ln.memo) for ln in doc.journal)
    return ImportDoc(rma, doc.role, doc.doc_type, doc.txn_date, doc.currency, doc.payload, lines)
