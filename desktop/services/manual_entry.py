"""Manual fallback entry: record a return's posting by hand while sync is down, never twice.

A person picks a return and says how its documents reach the ledger:

- **queue** (:attr:`ManualEntryPath.QUEUED`): the documents go into the outbox now, under the same
  idempotency keys the sync would use, and the poster sends them once the ledger is reachable;
- **entered directly** (:attr:`ManualEntryPath.ENTERED_DIRECTLY`): "I typed it into QuickBooks/Xero
  as document N". The return's main document is parked in the outbox in the state *awaiting
  adoption* (no poster ever claims it, and no Retry can release it) and :meth:`ManualEntryService.adopt_pending`
  later finds N in the ledger by its number, checks the amount and adopts it as posted — the sync
  posts nothing for it. Companion documents (a Xero refund payment, a fee journal) stay queued
  and follow automatically, the payment paying the adopted credit note.

Validation is pre-flight itself (:func:`desktop.services.sync.preflight.prepare`) plus what only a
hand-typed entry can get wrong (amount typed, document number, already posted / queued / entered).
Every problem that stops a submission counts as a *manual entry error prevented* (audited, so the
dashboard metric survives restarts and cannot be edited quietly).

Export for a manual import (:meth:`ManualEntryService.export_csv`) writes the pending documents in
the platform's own import format:

- QuickBooks Online, *Import journal entries* (Settings → Import data → Journal entries): columns
  ``Journal No``, ``Journal Date``, ``Account Name``, ``Debits``, ``Credits``, ``Description``,
  ``Name`` — per Intuit's help article "Import journal entries" (quickbooks.intuit.com
  learn-support, en-au, import-journal-entries-quickbooks-online). Every pending document is
  written as its balanced debit/credit journal, one ``Journal No`` (its DocNumber) per document.
- Xero, *Credit Notes → Import* (the invoice template with ``CreditNoteNumber`` and
  ``CreditNoteDate`` in place of the invoice columns; ``*`` marks a required column):
  ``*ContactName``, ``EmailAddress``, ``*CreditNoteNumber``, ``Reference``, ``*CreditNoteDate``,
  ``*Description``, ``*Quantity``, ``*UnitAmount``, ``*AccountCode``, ``*TaxType``, ``Currency`` —
  per the public guides on importing credit notes to Xero (spreadsheetbroccoli.com "How to
  Import Credit Note to Xero"; its validator page lists the same required columns). Manual
  journals and refund payments have no credit-note row; they are listed as skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from desktop.services import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.clock import Clock
from desktop.services.domain import OrgSettings, Problem, ReturnRecord
from desktop.services.errors import NeedsPersonError, TransientError
from desktop.services.errors_queue import ErrorsQueue
from desktop.services.events import EventBus, EventKind, Severity
from desktop.services.ledgers.base import expect_ok
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.service import MappingService
from desktop.services.money import Money
from desktop.services.rms.records import from_row
from desktop.services.store.coltypes import json_dumps_exact
from desktop.services.store.db import Database
from desktop.services.store.models import (
    AuditLog,
    ConnectionStatus,
    LedgerConnection,
    ManualEntry,
    ManualEntryPath,
    ManualEntryStatus,
    Organization,
    OutboxDocument,
    OutboxStatus,
    QuarantineReason,
    Return,
    ReturnSyncStatus,
)
from desktop.services.sync import outbox
from desktop.services.sync.documents import LedgerDocument, body_of
from desktop.services.sync.fx import FxRates
from desktop.services.sync.keys import DOC_NUMBER_MAX
from desktop.services.sync.preflight import merge_problems, preflight

__all__ = ["AdoptResult", "ExportResult", "ManualEntryService", "ManualForm", "Prepared", "SubmitResult"]

AUDIT_REFUSED = "manual_entry.refused"
AUDIT_RECORDED = "manual_entry.recorded"
AUDIT_ADOPTED = "manual_entry.adopted"
#: ``last_error`` marker of an outbox row parked until the hand-entered document is adopted.
LEDGER_NAMES = {"qbo": "QuickBooks Online", "xero": "Xero"}


@dataclass(frozen=True)
class ManualForm:
    """What the person typed. ``amount`` is the refund total they read off the RMS, checked."""

    org: str
    rma: str
    path: ManualEntryPath = ManualEntryPath.QUEUED
    txn_date: date | None = None
    amount: Decimal | None = None
    doc_number: str | None = None
    note: str = ""


@dataclass
class Prepared:
    """A return's documents as the sync would post them, and every reason they must not."""

    org: str
    rma: str
    return_id: int | None = None
    revision: int = 0
    platform: str = ""
    currency: str = ""
    refund: Money | None = None
    documents: list[LedgerDocument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.documents)


@dataclass
class SubmitResult:
    prepared: Prepared
    entry_ids: list[int] = field(default_factory=list)
    prevented: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.entry_ids)


@dataclass
class AdoptResult:
    matched: int = 0
    waiting: int = 0
    mismatched: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class ExportResult:
    text: str
    rows: int
    documents: int
    skipped: list[str] = field(default_factory=list)


# --- the ledger, by document number --------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A document found in the ledger by its number."""

    remote_id: str
    number: str | None
    total: Decimal | None
    sync_token: str | None = None
    status: str | None = None


class LedgerDocs:
    """Look-up by number and void, over a connector's own ``http`` and ``base`` (QBO or Xero).

    The poster's writers look documents up by idempotency key; a document a person typed into the
    ledger carries no key, only the number the ledger showed them, hence this small reader.
    """

    def __init__(self, connector: Any) -> None:
        self.http = connector.http
        self.base = str(connector.base).rstrip("/")
        self.tenant_id: str | None = getattr(connector, "company_id", None)
        self.platform = "qbo" if type(connector).__name__.startswith("Qbo") else "xero"

    def _xero_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "xero-tenant-id": self.tenant_id or "",
                "Content-Type": "application/json"}

    def qbo_query(self, statement: str) -> dict[str, Any]:
        from desktop.services.ledgers.qbo import MINOR_VERSION, translate_error

        resp = self.http.request("GET", f"{self.base}/query", headers={"Accept": "application/json"},
                                 params={"minorversion": MINOR_VERSION, "query": statement})
        body: dict[str, Any] = expect_ok(resp, translate_error).get("QueryResponse") or {}
        return body

    def xero_get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        from desktop.services.ledgers.xero import translate_error

        resp = self.http.request("GET", f"{self.base}/{path}", headers=self._xero_headers(), params=params or {})
        body: dict[str, Any] = expect_ok(resp, translate_error)
        return body

    def void(self, doc_type: str, remote_id: str) -> None:
        """Void the document in the ledger (QBO: ``operation=void``; Xero: ``Status`` VOIDED)."""
        if self.platform == "qbo":
            from desktop.services.ledgers.qbo import MINOR_VERSION, translate_error

            current = self.qbo_query(_qbo_select(doc_type, "Id", remote_id)).get(doc_type) or []
            if not current:
                raise NeedsPersonError(f"QuickBooks has no {doc_type} {remote_id} to void")
            body = {"Id": remote_id, "SyncToken": str(current[0].get("SyncToken", "0"))}
            resp = self.http.request("POST", f"{self.base}/{doc_type.lower()}", headers={
                "Accept": "application/json", "Content-Type": "application/json"},
                params={"minorversion": MINOR_VERSION, "operation": "void"}, data=json_dumps_exact(body).encode())
            expect_ok(resp, translate_error)
            return
        from desktop.services.ledgers.xero import translate_error
        from desktop.services.ledgers.xero_post import COLLECTIONS

        collection, id_field, _n, _r = COLLECTIONS[doc_type]
        status = "DELETED" if doc_type == "Payment" else "VOIDED"
        xbody: dict[str, Any] = {collection: [{id_field: remote_id, "Status": status}]}
        resp = self.http.request("POST", f"{self.base}/{collection}/{remote_id}", headers=self._xero_headers(),
                                 data=json_dumps_exact(xbody).encode())
        expect_ok(resp, translate_error)


def _qbo_select(entity: str, field_name: str, value: str) -> str:
    """A statement of QBO's query language (not SQL): the value is escaped, names are our own."""
    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"SELECT * FROM {entity} WHERE {field_name} = '{quoted}'"  # noqa: S608 - escaped; not SQL


def find_by_number(docs: LedgerDocs, doc_type: str, number: str) -> Found | None:
    """The live document of ``doc_type`` numbered ``number`` (Xero journals/payments: by id)."""
    if not number:
        return None
    if docs.platform == "qbo":
        rows = docs.qbo_query(_qbo_select(doc_type, "DocNumber", number)).get(doc_type) or []
        if not rows:
            return None  # (a voided one totals 0.00: the amount check refuses it)
        r = rows[0]
        return Found(str(r["Id"]), r.get("DocNumber"), _money(r.get("TotalAmt")), str(r.get("SyncToken", "0")))
    from desktop.services.ledgers.xero_post import COLLECTIONS

    collection, id_field, number_field, _ref = COLLECTIONS[doc_type]
    if number_field:
        safe = number.replace('"', "")
        items = docs.xero_get(collection, {"where": f'{number_field}=="{safe}"'}).get(collection) or []
    else:
        try:
            items = docs.xero_get(f"{collection}/{number}").get(collection) or []
        except NeedsPersonError:
            return None
    live = [i for i in items if str(i.get("Status", "")).upper() not in ("VOIDED", "DELETED")]
    if not live:
        return None
    i = live[0]
    total = i.get("Total", i.get("Amount"))
    return Found(str(i[id_field]), str(i.get(number_field)) if number_field and i.get(number_field) else number,
                 _money(total) if total is not None else None, None, str(i.get("Status")))


def _money(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (ArithmeticError, ValueError):
        return None


class ManualEntryService:
    """Validate, record, adopt and export manual entries (see the module docstring)."""

    def __init__(self, db: Database, clock: Clock, bus: EventBus | None, mapping: MappingService,
                 connections: Any = None) -> None:
        self._db = db
        self._clock = clock
        self._bus = bus
        self._mapping = mapping
        self._connections = connections  # ConnectionService: connector(connection_id)

    # --- preparing and validating ------------------------------------------------------------

    def prepare(self, org: str, rma: str, *, txn_date: date | None = None) -> Prepared:
        """Recipes + pre-flight for the newest revision of ``rma``, optionally re-dated."""
        out = Prepared(org, rma)
        with self._db.session() as s:
            o = s.scalar(sa.select(Organization).where(Organization.code == org))
            if o is None:
                out.problems.append(Problem("unknown_organization", f"There is no organization {org!r}.", "org"))
                return out
            row = s.scalar(sa.select(Return).where(Return.organization_id == o.id, sa.or_(
                Return.rma_number == rma, Return.rms_id == rma)).order_by(Return.revision.desc()).limit(1)
                .options(selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines)))
            out.platform = o.platform.value
            if row is None:
                out.problems.append(Problem("return_not_found", f"{org} has no return {rma!r}: check the RMA number, "
                                            "or pull returns from the RMS first.", "rma"))
                return out
            out.return_id, out.revision, out.currency, out.rma = row.id, row.revision, row.currency, row.rma_number
            try:
                record: ReturnRecord = from_row(row)
            except ValueError as exc:
                out.problems.append(Problem("return_unreadable", f"{exc}: fix it in the RMS, then pull again.", "rma"))
                return out
            if not record.org_code:
                record = replace(record, org_code=o.code)
            settings = OrgSettings.from_json(o.settings)
            tz, home = o.timezone, o.home_currency
        snapshot = self._mapping.snapshot(org) or ReferenceSnapshot.empty(out.platform, home)
        resolver = self._mapping.resolver(org, snapshot)
        rates = FxRates.from_settings(snapshot.home_currency, settings.extra.get("fx_rates"))
        today = self._clock.now().astimezone(ZoneInfo(tz)).date()
        out.refund = record.computed_refund()
        from desktop.services.sync.recipes import build_documents

        docs, problems = build_documents(record, resolver, snapshot, settings, rates, tz=tz)
        if txn_date is not None:
            docs = [_redate(d, txn_date) for d in docs]
        out.documents = docs
        out.problems = merge_problems(problems, preflight(docs, record, snapshot, settings, today))
        return out

    def validate(self, form: ManualForm) -> Prepared:
        """Pre-flight plus the manual checks; nothing is written (safe to call as the person types)."""
        prepared = self.prepare(form.org, form.rma.strip(), txn_date=form.txn_date)
        if prepared.return_id is None:
            return prepared
        extra: list[Problem] = []
        if form.amount is not None and prepared.refund is not None and \
                Money(form.amount, prepared.refund.currency) != prepared.refund:
            extra.append(Problem("amount_mismatch", f"You typed a refund of {form.amount} {prepared.currency}, but "
                                 f"return {prepared.rma} refunds {prepared.refund}: check the figure in the RMS.",
                                 "amount"))
        number = (form.doc_number or "").strip()
        if form.path is ManualEntryPath.ENTERED_DIRECTLY:
            if not number:
                extra.append(Problem("doc_number_required", "Type the number the ledger gave the document you entered, "
                                     "so the sync can find it and never post it again.", "doc_number"))
            elif prepared.platform == "qbo" and len(number) > DOC_NUMBER_MAX:
                extra.append(Problem("doc_number_too_long", f"QuickBooks document numbers have at most "
                                     f"{DOC_NUMBER_MAX} characters; “{number}” has {len(number)}.", "doc_number"))
        extra += self._duplicates(prepared)
        prepared.problems = merge_problems(prepared.problems, extra)
        return prepared

    def _duplicates(self, prepared: Prepared) -> list[Problem]:
        keys = [d.idempotency_key for d in prepared.documents]
        if not keys:
            return []
        out: list[Problem] = []
        with self._db.session() as s:
            rows = {r.idempotency_key: r for r in s.scalars(
                sa.select(OutboxDocument).where(OutboxDocument.idempotency_key.in_(keys)))}
            entries = list(s.scalars(sa.select(ManualEntry).where(
                ManualEntry.idempotency_key.in_(keys), ManualEntry.status != ManualEntryStatus.CANCELLED)))
        for doc in prepared.documents:
            row = rows.get(doc.idempotency_key)
            what = f"{doc.doc_type} {doc.role.replace('_', ' ')}"
            if row is None:
                continue
            if row.status is OutboxStatus.POSTED:
                out.append(Problem("already_posted", f"{what} of {prepared.rma} is already in the ledger as "
                                   f"{row.remote_number or row.remote_id}: entering it again would post it twice.",
                                   "rma"))
            elif row.status in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.UNCERTAIN):
                out.append(Problem("already_queued", f"{what} of {prepared.rma} is already queued for the ledger "
                                   f"({row.status.value}); the sync will post it once — do not enter it by hand.",
                                   "rma"))
        for entry in entries:
            out.append(Problem("already_entered", f"{prepared.rma} was already recorded by hand by {entry.created_by} "
                               f"({entry.path.value.replace('_', ' ')}, {entry.status.value}).", "rma"))
        return out

    # --- recording -----------------------------------------------------------------------------

    def submit(self, actor: Actor, form: ManualForm) -> SubmitResult:
        """Validate and, when clean, record the entry along the form's path (audited either way)."""
        actor.require(Action.MANUAL_ENTRY)
        prepared = self.validate(form)
        result = SubmitResult(prepared)
        now = self._clock.now()
        if prepared.problems or not prepared.documents:
            result.prevented = len(prepared.problems)
            with self._db.write_session() as s:
                audit.append(s, self._clock, actor=actor.username, action=AUDIT_REFUSED, target=prepared.rma,
                             organization_id=self._org_id(s, form.org), details={
                                 "prevented": result.prevented, "codes": [p.code for p in prepared.problems],
                                 "path": form.path.value})
            self._emit(EventKind.DOCUMENT_QUARANTINED, Severity.INFO,
                       f"Manual entry for {prepared.rma} stopped: {result.prevented} problem(s) prevented",
                       form.org, prepared.rma, prevented=result.prevented, error_prevented=True, manual_entry=True,
                       codes=[p.code for p in prepared.problems])
            return result
        number = (form.doc_number or "").strip() or None
        with self._db.write_session() as s:
            org_id = self._org_id(s, form.org)
            assert org_id is not None and prepared.return_id is not None
            conn_id = self._connection_id(s, org_id)
            outbox.enqueue(s, prepared.documents, org_id, conn_id, prepared.return_id, now=now)
            rows = {r.idempotency_key: r for r in s.scalars(sa.select(OutboxDocument).where(
                OutboxDocument.idempotency_key.in_([d.idempotency_key for d in prepared.documents])))}
            for i, doc in enumerate(prepared.documents):
                row = rows[doc.idempotency_key]
                outbox.replace_document(row, doc, conn_id, now=now)
                direct = form.path is ManualEntryPath.ENTERED_DIRECTLY and i == 0
                if direct:
                    outbox.await_adoption(row, number, f"Entered by hand in "
                                          f"{LEDGER_NAMES.get(doc.platform, doc.platform)} as {number}: waiting to "
                                          "find it there and adopt it", now=now)
                elif form.path is ManualEntryPath.ENTERED_DIRECTLY:
                    continue  # a companion document: the sync posts it as usual
                entry = ManualEntry(
                    organization_id=org_id, rma=prepared.rma, return_id=prepared.return_id,
                    path=ManualEntryPath.ENTERED_DIRECTLY if direct else ManualEntryPath.QUEUED,
                    idempotency_key=doc.idempotency_key, outbox_document_id=row.id,
                    ledger_doc_number=number if direct else None,
                    payload={"doc_type": doc.doc_type, "role": doc.role, "total": f"{doc.total.amount:f}",
                             "currency": doc.currency, "date": doc.txn_date.isoformat(), "note": form.note},
                    status=ManualEntryStatus.QUEUED, created_by=actor.username, created_at=now, updated_at=now)
                s.add(entry)
                s.flush()
                result.entry_ids.append(entry.id)
            ret = s.get(Return, prepared.return_id)
            if ret is not None and ret.sync_status in (ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED):
                ret.sync_status, ret.updated_at = ReturnSyncStatus.READY, now
            s.execute(sa.update(QuarantineReason).where(QuarantineReason.return_id == prepared.return_id,
                                                        QuarantineReason.resolved_at.is_(None))
                      .values(resolved_at=now, resolved_by=actor.username))
            audit.append(s, self._clock, actor=actor.username, action=AUDIT_RECORDED, target=prepared.rma,
                         organization_id=org_id, details={"path": form.path.value, "doc_number": number,
                                                          "keys": [d.idempotency_key for d in prepared.documents]})
        how = (f"entered directly in the ledger as {number}" if form.path is ManualEntryPath.ENTERED_DIRECTLY
               else "queued for posting when the ledger is reachable")
        self._emit(EventKind.DOCUMENT_ENTERED_MANUALLY, Severity.INFO, f"{prepared.rma} recorded by hand: {how}",
                   form.org, prepared.rma, path=form.path.value, doc_number=number)
        return result

    # --- adoption ------------------------------------------------------------------------------

    def adopt_pending(self, connection_id: int) -> AdoptResult:
        """Find every hand-entered document of the connection by its number and adopt it.

        Call before posting (the sync's push step): an adopted document is settled as posted
        with the ledger's id, so nothing is sent for it. Not found yet, or the ledger cannot be
        reached: it stays parked and the next run asks again.
        """
        result = AdoptResult()
        with self._db.session() as s:
            pairs = list(s.execute(sa.select(ManualEntry, OutboxDocument).join(
                OutboxDocument, OutboxDocument.id == ManualEntry.outbox_document_id).where(
                ManualEntry.path == ManualEntryPath.ENTERED_DIRECTLY, ManualEntry.status == ManualEntryStatus.QUEUED,
                OutboxDocument.connection_id == connection_id)))
        if not pairs:
            return result
        docs = LedgerDocs(self._connections.connector(connection_id))
        for entry, row in pairs:
            try:
                found = find_by_number(docs, row.doc_type, entry.ledger_doc_number or "")
            except TransientError:
                result.waiting += 1
                continue
            if found is None:
                result.waiting += 1
                result.messages.append(f"{entry.ledger_doc_number} is not in the ledger yet")
                continue
            expected = row.total
            if expected is not None and found.total is not None and found.total != expected.amount:
                result.mismatched += 1
                msg = (f"{row.doc_type} {entry.ledger_doc_number} in the ledger totals {found.total}, but "
                       f"{entry.rma} needs {expected}: correct one of them, then adopt again")
                result.messages.append(msg)
                self._park(row.id, entry.ledger_doc_number, msg)
                continue
            self._settle_adopted(entry.id, row.id, found.remote_id, found.number, found.sync_token)
            result.matched += 1
            self._emit(EventKind.DOCUMENT_DUPLICATE_PREVENTED, Severity.INFO,
                       f"{row.doc_type} {found.number or found.remote_id} was entered by hand; adopted, not posted "
                       "again", None, entry.rma, document_key=row.idempotency_key, resolution="adopted")
        return result

    def adopt_all(self) -> AdoptResult:
        """:meth:`adopt_pending` for every connection with hand-entered documents waiting."""
        with self._db.session() as s:
            ids = list(s.scalars(sa.select(OutboxDocument.connection_id).join(
                ManualEntry, ManualEntry.outbox_document_id == OutboxDocument.id).where(
                ManualEntry.path == ManualEntryPath.ENTERED_DIRECTLY, ManualEntry.status == ManualEntryStatus.QUEUED,
                OutboxDocument.connection_id.is_not(None)).distinct()))
        total = AdoptResult()
        for cid in ids:
            if cid is None:
                continue
            part = self.adopt_pending(cid)
            total.matched += part.matched
            total.waiting += part.waiting
            total.mismatched += part.mismatched
            total.messages += part.messages
        return total

    def _park(self, row_id: int, number: str | None, message: str) -> None:
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.get(OutboxDocument, row_id)
            if row is not None and row.status is OutboxStatus.AWAITING_ADOPTION:
                outbox.note_adoption_problem(row, message, now=now)

    def _settle_adopted(self, entry_id: int, row_id: int, remote_id: str, number: str | None,
                        sync_token: str | None) -> None:
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.get(OutboxDocument, row_id)
            entry = s.get(ManualEntry, entry_id)
            if row is None or entry is None or row.status is OutboxStatus.POSTED:
                return
            outbox.adopt(row, remote_id, number, sync_token, now=now,
                         resolution={"resolution": "adopted", "manual_entry": entry_id})
            entry.status, entry.updated_at = ManualEntryStatus.MATCHED, now
            outbox.mark_returns_posted(s, [row.return_id], now)
            audit.append(s, self._clock, actor="system", action=AUDIT_ADOPTED, target=entry.rma,
                         organization_id=entry.organization_id,
                         details={"key": row.idempotency_key, "remote_id": remote_id, "number": number})

    def adopt_document(self, actor: Actor, document_key: str, number: str) -> AdoptResult:
        """Returns page "Adopt…": this outbox document is already in the ledger as ``number``."""
        actor.require(Action.RESOLVE_ERRORS)
        number = number.strip()
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.scalar(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == document_key))
            if row is None:
                raise NeedsPersonError(f"There is no document {document_key}")
            if row.status in (OutboxStatus.POSTED, OutboxStatus.IN_FLIGHT):
                raise NeedsPersonError(f"{row.doc_type} {document_key} is {row.status.value}; nothing to adopt")
            if not number:
                raise NeedsPersonError("Type the ledger's number of the document to adopt")
            rma = s.scalar(sa.select(Return.rma_number).where(Return.id == row.return_id)) or document_key
            entry = s.scalar(sa.select(ManualEntry).where(ManualEntry.idempotency_key == document_key))
            if entry is None:
                entry = ManualEntry(organization_id=row.organization_id, rma=rma, return_id=row.return_id,
                                    path=ManualEntryPath.ENTERED_DIRECTLY, idempotency_key=document_key,
                                    outbox_document_id=row.id, payload={"doc_type": row.doc_type, "adopt": True},
                                    status=ManualEntryStatus.QUEUED, created_by=actor.username, created_at=now,
                                    updated_at=now)
                s.add(entry)
            entry.path, entry.status, entry.ledger_doc_number = (ManualEntryPath.ENTERED_DIRECTLY,
                                                                 ManualEntryStatus.QUEUED, number)
            entry.updated_at = now
            outbox.await_adoption(row, number, f"To be adopted as {number}", now=now)
            conn_id = row.connection_id
            audit.append(s, self._clock, actor=actor.username, action="document.adopt_requested", target=document_key,
                         organization_id=row.organization_id, details={"number": number})
        if conn_id is None or self._connections is None:
            return AdoptResult(waiting=1)
        return self.adopt_pending(conn_id)

    # --- the Returns page's actions ----------------------------------------------------------

    def retry(self, actor: Actor, document_key: str) -> str:
        """The Returns page's Retry: the app's one Retry (:meth:`ErrorsQueue.retry`)."""
        return ErrorsQueue(self._db, self._clock, self._bus).retry(actor, document_key)

    def replan(self, actor: Actor, org: str, rma: str) -> Prepared:
        """Re-post after a mapping fix: rebuild the documents; clean ones replace the unposted rows."""
        actor.require(Action.RESOLVE_ERRORS)
        prepared = self.prepare(org, rma)
        now = self._clock.now()
        if prepared.return_id is None:
            return prepared
        with self._db.write_session() as s:
            org_id = self._org_id(s, org)
            assert org_id is not None
            ret = s.get(Return, prepared.return_id)
            s.execute(sa.update(QuarantineReason).where(QuarantineReason.return_id == prepared.return_id,
                                                        QuarantineReason.resolved_at.is_(None))
                      .values(resolved_at=now, resolved_by=actor.username))
            if prepared.problems or not prepared.documents:
                for p in prepared.problems:
                    s.add(QuarantineReason(return_id=prepared.return_id, code=p.code, message=p.message,
                                           details={"field": p.field}, created_at=now))
                if ret is not None and ret.sync_status is not ReturnSyncStatus.POSTED:
                    ret.sync_status, ret.updated_at = ReturnSyncStatus.QUARANTINED, now
            else:
                conn_id = self._connection_id(s, org_id)
                outbox.enqueue(s, prepared.documents, org_id, conn_id, prepared.return_id, now=now)
                rows = {r.idempotency_key: r for r in s.scalars(sa.select(OutboxDocument).where(
                    OutboxDocument.idempotency_key.in_([d.idempotency_key for d in prepared.documents])))}
                for doc in prepared.documents:
                    row = rows[doc.idempotency_key]
                    if row.status in outbox.TRANSITIONS["replace_document"]:
                        outbox.replace_document(row, doc, conn_id, now=now)
                if ret is not None and ret.sync_status in (ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED):
                    ret.sync_status, ret.updated_at = ReturnSyncStatus.READY, now
            audit.append(s, self._clock, actor=actor.username, action="return.replan", target=prepared.rma,
                         organization_id=org_id, details={"problems": [p.code for p in prepared.problems]})
        if not prepared.problems:
            self._emit(EventKind.DOCUMENT_RELEASED, Severity.INFO, f"{prepared.rma} re-planned after a fix: "
                       f"{len(prepared.documents)} document(s) ready to post", org, prepared.rma)
        return prepared

    def void(self, actor: Actor, document_key: str) -> str:
        """Void a posted document in the ledger (a person confirmed it in the view)."""
        actor.require(Action.POST_DOCUMENTS)
        with self._db.session() as s:
            row = s.scalar(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == document_key))
            if row is None or row.status is not OutboxStatus.POSTED or not row.remote_id or row.connection_id is None:
                raise NeedsPersonError("Only a document posted to the ledger can be voided there")
            doc_type, remote_id, conn_id, org_id = row.doc_type, row.remote_id, row.connection_id, row.organization_id
        if self._connections is None:
            raise NeedsPersonError("No ledger connection is available")
        LedgerDocs(self._connections.connector(conn_id)).void(doc_type, remote_id)
        now = self._clock.now()
        with self._db.write_session() as s:
            live = s.scalar(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == document_key))
            if live is not None:
                live.remote_state, live.remote_updated_at, live.updated_at = "voided", now, now
            audit.append(s, self._clock, actor=actor.username, action="document.void", target=document_key,
                         organization_id=org_id, details={"remote_id": remote_id, "doc_type": doc_type})
        self._emit(EventKind.DOCUMENT_VOIDED_IN_LEDGER, Severity.INFO, f"{actor.username} voided {doc_type} "
                   f"{remote_id} in the ledger", None, None, document_key=document_key)
        return "voided"

    # --- reading -------------------------------------------------------------------------------

    def refresh_statuses(self) -> int:
        """Queued entries whose document has posted become POSTED; returns how many changed."""
        now = self._clock.now()
        with self._db.write_session() as s:
            ids = list(s.scalars(sa.select(ManualEntry.id).join(
                OutboxDocument, OutboxDocument.id == ManualEntry.outbox_document_id).where(
                ManualEntry.status == ManualEntryStatus.QUEUED, ManualEntry.path == ManualEntryPath.QUEUED,
                OutboxDocument.status == OutboxStatus.POSTED)))
            if ids:
                s.execute(sa.update(ManualEntry).where(ManualEntry.id.in_(ids))
                          .values(status=ManualEntryStatus.POSTED, updated_at=now))
            return len(ids)

    def entries(self, org: str | None = None, *, limit: int = 500) -> list[dict[str, Any]]:
        """Recent manual entries with their document's state, newest first (the page's list)."""
        self.refresh_statuses()
        with self._db.session() as s:
            stmt = (sa.select(ManualEntry, Organization.code, OutboxDocument.status, OutboxDocument.remote_number,
                              OutboxDocument.doc_type)
                    .join(Organization, Organization.id == ManualEntry.organization_id)
                    .outerjoin(OutboxDocument, OutboxDocument.id == ManualEntry.outbox_document_id)
                    .order_by(ManualEntry.id.desc()).limit(limit))
            if org:
                stmt = stmt.where(Organization.code == org)
            return [{"id": e.id, "org": code, "rma": e.rma, "path": e.path.value, "status": e.status.value,
                     "doc_type": doc_type or (e.payload or {}).get("doc_type"), "number": e.ledger_doc_number or number,
                     "outbox": status.value if status is not None else None, "total": (e.payload or {}).get("total"),
                     "currency": (e.payload or {}).get("currency"), "by": e.created_by, "at": e.created_at}
                    for e, code, status, number, doc_type in s.execute(stmt)]

    def prevented_count(self, org: str | None = None) -> int:
        """Manual entry errors prevented so far (from the audit log)."""
        with self._db.session() as s:
            stmt = sa.select(AuditLog.details).where(AuditLog.action == AUDIT_REFUSED)
            if org:
                stmt = stmt.where(AuditLog.organization_id == self._org_id(s, org))
            return sum(int((d or {}).get("prevented", 0)) for d in s.scalars(stmt))

    # --- export --------------------------------------------------------------------------------

    def export_csv(self, org: str) -> ExportResult:
        """Pending (not yet posted) documents of ``org`` in its ledger's own import CSV."""
        with self._db.session() as s:
            o = s.scalar(sa.select(Organization).where(Organization.code == org))
            if o is None:
                raise NeedsPersonError(f"There is no organization {org!r}")
            platform = o.platform.value
            pending = list(s.execute(sa.select(Return.rma_number, OutboxDocument.idempotency_key).join(
                Return, Return.id == OutboxDocument.return_id).where(
                OutboxDocument.organization_id == o.id,
                OutboxDocument.status.in_((OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.QUARANTINED)))
                .order_by(OutboxDocument.id)))
        wanted: dict[str, set[str]] = {}
        for rma, key in pending:
            wanted.setdefault(rma, set()).add(key)
        docs: list[tuple[LedgerDocument, str, str | None]] = []
        for rma, keys in wanted.items():
            prepared = self.prepare(org, rma)
            docs += [(d, rma, _customer(d)) for d in prepared.documents if d.idempotency_key in keys]
        return (_qbo_csv if platform == "qbo" else _xero_csv)(docs)

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _org_id(s: Session, org: str) -> int | None:
        return s.scalar(sa.select(Organization.id).where(Organization.code == org))

    @staticmethod
    def _connection_id(s: Session, org_id: int) -> int | None:
        rows = s.execute(sa.select(LedgerConnection.id, LedgerConnection.status)
                         .where(LedgerConnection.organization_id == org_id)
                         .order_by(LedgerConnection.updated_at.desc(), LedgerConnection.id.desc())).all()
        connected = [i for i, status in rows if status == ConnectionStatus.CONNECTED]
        ids = connected or [i for i, _ in rows]
        return ids[0] if ids else None

    def _emit(self, kind: str, severity: Severity, message: str, org: str | None, rma: str | None,
              document_key: str | None = None, **details: Any) -> None:
        if self._bus is not None:
            self._bus.emit(kind, severity, message, org=org, rma=rma, document_key=document_key, details=details)


def _redate(doc: LedgerDocument, day: date) -> LedgerDocument:
    payload = dict(doc.payload)
    if doc.platform == "xero":
        outer = next(iter(payload))
        payload[outer] = [{**payload[outer][0], "Date": day.isoformat()}]
    else:
        payload["TxnDate"] = day.isoformat()
    return replace(doc, txn_date=day, payload=payload)


def _customer(doc: LedgerDocument) -> str | None:
    body = body_of(doc)
    contact = body.get("Contact") or {}
    return contact.get("Name") if isinstance(contact, dict) else None


def _qbo_csv(docs: Sequence[tuple[LedgerDocument, str, str | None]]) -> ExportResult:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Journal No", "Journal Date", "Account Name", "Debits", "Credits", "Description", "Name"])
    rows = 0
    for doc, rma, customer in docs:
        number = str(doc.payload.get("DocNumber") or rma)[:DOC_NUMBER_MAX]
        for ln in doc.journal:
            w.writerow([number, doc.txn_date.strftime("%m/%d/%Y"), ln.account_name,
                        f"{ln.debit.amount:f}" if ln.debit is not None else "",
                        f"{ln.credit.amount:f}" if ln.credit is not None else "",
                        ln.memo or f"{rma} {doc.role.replace('_', ' ')}", customer or ""])
            rows += 1
    return ExportResult(buf.getvalue(), rows, len(docs))


XERO_COLUMNS = ["*ContactName", "EmailAddress", "*CreditNoteNumber", "Reference", "*CreditNoteDate", "*Description",
                "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType", "Currency"]


def _xero_csv(docs: Sequence[tuple[LedgerDocument, str, str | None]]) -> ExportResult:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(XERO_COLUMNS)
    rows = 0
    skipped: list[str] = []
    exported = 0
    for doc, rma, customer in docs:
        if doc.doc_type != "CreditNote":
            skipped.append(f"{rma} {doc.doc_type} ({doc.role.replace('_', ' ')})")
            continue
        body = body_of(doc)
        exported += 1
        number = str(body.get("CreditNoteNumber") or f"{rma}-CN")
        for item in body.get("LineItems") or []:
            w.writerow([customer or "", (body.get("Contact") or {}).get("EmailAddress", ""), number,
                        body.get("Reference", ""), doc.txn_date.strftime("%d/%m/%Y"), item.get("Description", ""),
                        f"{_money(item.get('Quantity', 1)) or 1:f}", f"{_money(item.get('UnitAmount', 0)) or 0:f}",
                        item.get("AccountCode", ""), item.get("TaxType", ""), doc.currency])
            rows += 1
    return ExportResult(buf.getvalue(), rows, exported, skipped)
