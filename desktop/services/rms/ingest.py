"""RMS → local store: pull the change feed by cursor, validate, upsert exactly once, quarantine.

Exactly once, crash-safe (DESIGN §7):

- Every revision is an idempotent upsert on ``(organization, RMS id, revision)``. A replay of the
  same revision with the same payload changes nothing (``unchanged``). A *different* payload for a
  revision we already hold replaces it only while nothing downstream has used it (status NEW or
  QUARANTINED — e.g. a corrected export file); otherwise it is a ``conflict``: rows stay as they
  are and a warning event asks for a new revision instead.
- One page = one write transaction, holding the page's rows *and* the new cursor. A crash before
  the commit re-reads that page on restart; the upsert makes that harmless. Events are published
  only after the commit, so no event ever describes a rolled-back row.
- A valid record becomes a ``Return`` with status NEW; an invalid one a QUARANTINED ``Return``
  that keeps the raw payload, plus one ``QuarantineReason`` per problem — never dropped.
- A newer revision marks older revisions of the same return SUPERSEDED, except those already
  POSTED (the sync engine adjusts those) or deliberately IGNORED; quarantine reasons of a
  superseded revision are resolved, since nobody needs to fix a revision that no longer counts.
- Within one batch (a pull page, or a whole import file across all its transactions) the first copy
  of a revision counts; a later identical copy is a ``duplicate``, a later *different* copy is
  quarantined ``conflicting_revision`` (:mod:`desktop.services.rms.copies` owns that rule). So
  records in = ingested + quarantined + unchanged + duplicates + conflicts, always.
- A feed page the RMS never sends readably is retried, counted and finally set aside
  (:mod:`desktop.services.rms.feed_guard`, which wraps :meth:`IngestService.pull`).

One ingest path for the feed and for files: a page of the feed and a batch of a file import
(:meth:`IngestService.ingest`, which reads its records lazily, :data:`BATCH_SIZE` at a time, so
memory stays bounded whatever the input's size) both go through :meth:`IngestService._commit_batch`.
The batch's records and their helpers are in :mod:`desktop.services.rms.batch`.
Database work is batched: one query loads the batch's existing revisions, and the new ones are
written with a few multi-row ``INSERT … ON CONFLICT DO NOTHING`` statements
(:mod:`desktop.services.rms.bulk`); only a replaced revision goes through the ORM. After each
batch, a progress callback gets the figures and a cancel check may stop the ingest there
(:mod:`desktop.services.rms.progress`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.errors import NeedsPersonError, TransientError
from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.services.core.exact_json import dumps_plain
from desktop.services.rms.batch import Held, Item, next_batch, one_copy_each
from desktop.services.rms.bulk import KeyTaken, insert_new, insert_reasons
from desktop.services.rms.client import Page, RmsClient
from desktop.services.rms.context import PROFILE_KEY, OrgContext
from desktop.services.rms.copies import CONFLICTING_REVISION, CopyCheck
from desktop.services.rms.feed_guard import ApplyPage, FeedGuard, Repull
from desktop.services.rms.parse import RMS_FIX, parse_return, problem_json
from desktop.services.rms.progress import Incoming, IngestProgress, ProgressCallback, RecordSource, StopCheck
from desktop.services.rms.records import (
    RowValues,
    add_line_taxes,
    placeholder_values,
    row_values,
    same_payload,
)
from desktop.services.rms.results import IngestResult, OrgSyncResult, QuarantinedRecord
from desktop.services.rms.storable import storable_plain
from desktop.services.store.db import Database
from desktop.services.store.models import (
    Organization,
    Platform,
    QuarantineReason,
    Return,
    ReturnFee,
    ReturnSyncStatus,
    ReturnTaxLine,
    SyncCursor,
)
from desktop.services.store.models import ReturnLine as LineRow

__all__ = ["CONFLICTING_REVISION", "CURSOR_SOURCE", "Incoming", "IngestResult", "IngestService", "OrgSyncResult",
           "QuarantinedRecord"]

#: ``sync_cursors.source`` of the RMS change feed.
CURSOR_SOURCE = "rms"
#: Statuses a newer revision does not touch.
_KEEP_ON_SUPERSEDE = frozenset({ReturnSyncStatus.POSTED, ReturnSyncStatus.SUPERSEDED, ReturnSyncStatus.IGNORED})
#: Statuses whose content a corrected payload of the same revision may still replace.
_REPLACEABLE = frozenset({ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED})
_IN_CHUNK = 500
#: Records per transaction of a file import.
BATCH_SIZE = 500


class IngestService:
    """Ingest of RMS records into the local store (see the module docstring)."""

    def __init__(self, db: Database, bus: EventBus, clock: Clock) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock

    # --- organizations -----------------------------------------------------------------------

    def ensure_organizations(self, client: RmsClient, *, platforms: Mapping[str, Platform] | None = None,
                             default_platform: Platform | None = None) -> OrgSyncResult:
        """Create or update ``Organization`` rows from ``GET /v1/organizations``.

        Name, home currency, time zone and the RMS profile (currencies, tax jurisdictions) follow
        the RMS. The ledger platform is not the RMS's to say: a new organization is created only
        when ``platforms`` (or ``default_platform``) names it, else it is skipped and reported, to
        be created by the ledger connection step. An existing row's platform is never changed.
        """
        result = OrgSyncResult()
        contexts = [OrgContext.from_rms(o) for o in client.organizations()]
        now = self._clock.now()
        with self._db.write_session() as session:
            existing = {o.code: o for o in session.scalars(select(Organization))}
            for ctx in contexts:
                org = existing.get(ctx.org_code)
                if org is None:
                    platform = (platforms or {}).get(ctx.org_code, default_platform)
                    if platform is None:
                        result.skipped[ctx.org_code] = "its ledger platform is not known yet; connect its ledger"
                        continue
                    org = Organization(code=ctx.org_code, name=ctx.name or ctx.org_code, platform=platform,
                                       timezone=ctx.timezone or "UTC",
                                       home_currency=ctx.home_currency or ctx.currencies[0],
                                       settings={PROFILE_KEY: ctx.to_profile()}, created_at=now, updated_at=now)
                    session.add(org)
                    result.created.append(ctx.org_code)
                    continue
                if _apply_profile(org, ctx, now):
                    result.updated.append(ctx.org_code)
        return result

    def context_for(self, org_code: str) -> OrgContext:
        """The validation context stored on the organization's row (for file imports)."""
        with self._db.session() as session:
            org = session.scalars(select(Organization).where(Organization.code == org_code)).one_or_none()
            if org is None:
                raise NeedsPersonError(f"Organization {org_code!r} is not set up in this app",
                                       action="connect the RMS (or the organization's ledger) first")
            profile = (org.settings or {}).get(PROFILE_KEY)
            if not isinstance(profile, Mapping):
                raise NeedsPersonError(
                    f"Organization {org_code} has no RMS profile yet (its currencies and tax jurisdictions)",
                    action="pull from the RMS once so the app learns them, then import the file again")
            return OrgContext.from_profile(profile)

    # --- pull ----------------------------------------------------------------------------------

    def pull(self, org_code: str, client: RmsClient, *, page_size: int = 200,
             progress: ProgressCallback | None = None, cancelled: StopCheck | None = None) -> IngestResult:
        """Page through the RMS change feed of ``org_code`` from its saved cursor to the end.

        Each page is one batch of the one ingest path (:meth:`_commit_batch`, with the cursor in its
        transaction); ``progress`` and ``cancelled`` work as for :meth:`ingest`. A page the RMS does
        not send readably is retried on later pulls and, after a bound, set aside (``rms/feed_guard.py``)."""
        org_id, ctx, cursor = self._start(org_code, client)
        result = IngestResult()
        result.set_aside, result.cancelled = FeedGuard(self._db, self._bus, self._clock, org_id, org_code).read(
            client, cursor, page_size, self._page_applier(org_id, ctx, result, move_cursor=True, progress=progress),
            saved=lambda: result.ingested + result.quarantined, cancelled=cancelled)
        return result

    def repull(self, org_code: str, client: RmsClient, actor: Actor) -> tuple[IngestResult, Repull]:
        """Ask the RMS again for every window of ``org_code``'s feed that was set aside; ingest those it
        now sends (the saved cursor stays where it is) and keep the others. Feeds the sync like a
        pull: ``actor`` must be allowed to ``run_sync``."""
        actor.require(Action.RUN_SYNC)
        org_id, ctx, _cursor = self._start(org_code, client)
        result = IngestResult()
        windows = FeedGuard(self._db, self._bus, self._clock, org_id, org_code).repull(
            client, self._page_applier(org_id, ctx, result, move_cursor=False))
        return result, windows

    def _start(self, org_code: str, client: RmsClient) -> tuple[int, OrgContext, str | None]:
        """The organization as the RMS lists it (its profile brought up to date) and its saved cursor."""
        listed = {o.get("code"): o for o in client.organizations()}
        if org_code not in listed:
            raise NeedsPersonError(f"The RMS does not list organization {org_code!r} for this API key",
                                   platform="rms", action="check the organization code and the RMS API key")
        ctx = OrgContext.from_rms(listed[org_code])
        with self._db.write_session() as session:
            org = self._org(session, org_code)
            _apply_profile(org, ctx, self._clock.now())
            cursor_row = self._cursor_row(session, org.id)
            return org.id, ctx, cursor_row.cursor_value if cursor_row is not None else None

    def _page_applier(self, org_id: int, ctx: OrgContext, result: IngestResult, *, move_cursor: bool,
                      progress: ProgressCallback | None = None) -> ApplyPage:
        """Commit one feed page as one batch: its records, the cursor after it (``move_cursor``) and
        ``also`` (the feed guard's bookkeeping) in one transaction; add its counts to ``result``."""
        def apply(page: Page, also: Callable[[Session], None] | None) -> None:
            def extra(session: Session) -> None:
                if move_cursor:
                    self._save_cursor(session, org_id, page.next_cursor)
                if also is not None:
                    also(session)

            result.merge(self._commit_batch(org_id, ctx, [Incoming(raw=raw) for raw in page.returns],
                                            fix=RMS_FIX, source="rms", also=extra,
                                            copies=CopyCheck("page", "this page of the RMS feed")))
            if progress is not None:
                progress(_progress(result))
        return apply

    # --- ingest from elsewhere (file import) ----------------------------------------------------

    def ingest(self, org_code: str, items: Iterable[Incoming], *, ctx: OrgContext, fix: str, source: str,
               batch_size: int = BATCH_SIZE, progress: ProgressCallback | None = None,
               cancelled: StopCheck | None = None, records: RecordSource | None = None) -> IngestResult:
        """Validate and upsert ``items`` exactly as :meth:`pull` does, ``batch_size`` per transaction.

        ``items`` is read lazily, one batch at a time, so memory stays bounded whatever its length.
        After each committed batch ``progress`` is told the figures (with ``records``' byte position)
        and ``cancelled()`` is asked; a cancel stops there, and ``records.count_rest()`` (when given)
        says how many records were not read. The whole call is one batch for the copy rule
        (:mod:`desktop.services.rms.copies`): a second copy is found whichever transaction it is in.
        """
        with self._db.session() as session:
            org_id = self._org(session, org_code).id
        result = IngestResult()
        copies = CopyCheck("file" if records is not None else "batch")
        iterator = iter(items)
        carry: Incoming | None = None
        last: IngestProgress | None = None
        while True:
            batch, carry = next_batch(iterator, carry, batch_size)
            if not batch:
                if progress is not None and last is not None and _progress(result, records) != last:
                    progress(_progress(result, records))  # the end of the input read after a full batch
                break
            result.merge(self._commit_batch(org_id, ctx, batch, fix=fix, source=source, copies=copies,
                                            offset=result.read))
            del batch
            if progress is not None:
                last = _progress(result, records)
                progress(last)
            if cancelled is not None and cancelled():
                result.cancelled = True
                result.not_read = records.count_rest() if records is not None else None
                if result.not_read == 0:
                    result.cancelled = False  # it had read everything: nothing was left out
                break
        return result

    def _commit_batch(self, org_id: int, ctx: OrgContext, items: Sequence[Incoming], *, fix: str, source: str,
                      copies: CopyCheck, offset: int = 0, also: Callable[[Session], None] | None = None
                      ) -> IngestResult:
        """One transaction of a batch (with ``also``, e.g. the feed's cursor); events after the commit.
        ``offset``: records of the batch before these (where a copy was, in a message)."""
        now = self._clock.now()
        # Validation needs no database: done before the write transaction, which then holds SQLite's
        # single writer only for the batch's reads and writes.
        prepared = [(inc, self._prepare(inc, org_id, ctx, now, fix)) for inc in items]
        try:
            with self._translate_races(), self._db.write_session() as session:
                part, events = self._apply(session, org_id, ctx, prepared, now, fix=fix, source=source,
                                           copies=copies, offset=offset)
                if also is not None:
                    also(session)
        finally:
            copies.end_transaction()
        for event in events:
            self._bus.publish(event)
        part.pages = 1 if items else 0
        return part

    # --- the upsert ------------------------------------------------------------------------------

    def _apply(self, session: Session, org_id: int, ctx: OrgContext, prepared: Sequence[tuple[Incoming, Item]],
               now: datetime, *, fix: str, source: str, copies: CopyCheck, offset: int = 0
               ) -> tuple[IngestResult, list[Event]]:
        result = IngestResult()
        events: list[Event] = []
        by_id: dict[str, list[Held]] = {}
        for held_row in self._existing(session, org_id, {it.key[0] for _inc, it in prepared}):
            by_id.setdefault(held_row.rms_id, []).append(Held(held_row))
        by_key = {(h.rms_id, h.revision): h for rows in by_id.values() for h in rows}
        items = one_copy_each(prepared, copies, by_key, result, org_id=org_id, now=now, fix=fix, offset=offset)
        fresh: list[Item] = []
        new: list[Item] = []
        touched: set[str] = set()
        pending: set[tuple[str, int]] = set()
        for it in items:
            held = by_key.get(it.key)
            if held is not None and same_payload(held.raw_payload, it.raw):
                result.unchanged += 1
                events.append(self._event(EventKind.RETURN_UNCHANGED, Severity.DEBUG, ctx, it,
                                          f"{it.name} is already here, unchanged"))
                continue
            if held is not None and it.key in pending:
                result.conflicts += 1
                events.append(self._event(
                    EventKind.RETURN_REJECTED, Severity.WARNING, ctx, it,
                    f"{it.name} appears twice in one batch with different content; the first one was "
                    "kept — remove the duplicate from the source", {"source": source}))
                continue
            if held is not None and held.sync_status not in _REPLACEABLE:
                result.conflicts += 1
                events.append(self._event(
                    EventKind.RETURN_REJECTED, Severity.WARNING, ctx, it,
                    f"{it.name} arrived again with different content, but it is already "
                    f"{held.sync_status.value}; the change was not applied — ask for a new revision in the RMS",
                    {"source": source, "status": held.sync_status.value}))
                continue
            if held is not None and held.orm is not None:
                self._overwrite(session, held.orm, it, now)
                held.sync_status = held.orm.sync_status
                it.return_id = held.orm.id
                result.replaced += 1
            else:
                new.append(it)
                held = Held(None, it.key[0], it.key[1], it.values.ret["sync_status"], stated=it.stated)
                by_key[it.key] = held
                by_id.setdefault(it.key[0], []).append(held)
            it.held = held
            touched.add(it.key[0])
            pending.add(it.key)
            fresh.append(it)
        ids = insert_new(session, [it.values for it in new])
        for it in new:
            it.return_id = it.held.id = ids[it.key]
        session.flush()
        reasons: list[dict[str, Any]] = []
        for it in fresh:
            if it.record is not None:
                if it.held.orm is not None:  # a replaced revision: its children went through the ORM
                    add_line_taxes(it.held.orm, it.record)
                result.ingested += 1
                events.append(self._event(EventKind.RETURN_INGESTED, Severity.INFO, ctx, it,
                                          f"{it.name} ingested", {"source": source}))
                continue
            stand = {"placeholders": it.stand_ins} if it.stand_ins else {}
            reasons.extend({"return_id": it.return_id, "code": p.code, "message": p.message, "created_at": now,
                            "details": {"field": p.field, "source": source, **stand},
                            "resolved_at": None, "resolved_by": None} for p in it.problems)
            result.quarantined += 1
            result.keep(QuarantinedRecord(it.key[0], it.key[1], it.rma_number, tuple(it.problems),
                                          tuple(it.stand_ins)))
            first = it.problems[0].message if it.problems else ""
            more = f" (and {len(it.problems) - 1} more)" if len(it.problems) > 1 else ""
            events.append(self._event(
                EventKind.RETURN_QUARANTINED, Severity.WARNING, ctx, it,
                f"{it.name} quarantined: {first}{more}",
                {"source": source, "problems": [problem_json(p) for p in it.problems], **stand}))
        session.flush()
        insert_reasons(session, reasons)
        result.superseded = self._supersede(session, [by_id[i] for i in touched], now)
        session.flush()
        return result, events

    def _prepare(self, inc: Incoming, org_id: int, ctx: OrgContext, now: datetime, fix: str) -> Item:
        # What the database cannot hold (NUL, unpaired surrogates, endless numbers, deep nesting) is
        # replaced in a copy and quarantines the record; everything after this sees the copy only.
        # The same walk proves the payload plain, when it is: then its JSON is written once, here,
        # and neither the copy rule's digest nor the JSON column walks it again.
        safe, unstorable, plain = storable_plain(inc.raw, fix=fix)
        raw: dict[str, Any] = dict(safe) if isinstance(safe, Mapping) else {"_unreadable": safe}
        plain = plain and isinstance(safe, Mapping)
        record, problems = parse_return(safe, ctx, fix=fix)
        problems = [*inc.extra_problems, *unstorable, *problems]
        if inc.annotate is not None:
            problems = [inc.annotate(p) for p in problems]
        if record is not None and not problems:
            rows = row_values(record, org_id, raw, now)
            if plain:
                rows.raw_json = dumps_plain(raw)
            return Item(raw, record, [], rows, [], plain=plain)
        values, stand_ins = placeholder_values(raw, org_id, now)
        return Item(raw, None, problems, RowValues(values), stand_ins, plain=plain)

    @staticmethod
    def _existing(session: Session, org_id: int, rms_ids: Iterable[str]) -> list[Return]:
        ids = sorted(rms_ids)
        rows: list[Return] = []
        for start in range(0, len(ids), _IN_CHUNK):
            rows.extend(session.scalars(select(Return).where(
                Return.organization_id == org_id, Return.rms_id.in_(ids[start:start + _IN_CHUNK]))))
        return rows

    @staticmethod
    def _overwrite(session: Session, held: Return, it: Item, now: datetime) -> None:
        """Give ``held`` (same key, status NEW/QUARANTINED) the content of ``it`` in place.

        In place keeps the row's id (anything pointing at it stays valid). Children go through
        Core deletes: the ORM does not know that tax lines hang off lines, and would otherwise
        delete rows the database already cascaded away.
        """
        session.execute(delete(ReturnTaxLine).where(ReturnTaxLine.return_id == held.id))
        session.execute(delete(LineRow).where(LineRow.return_id == held.id))
        session.execute(delete(ReturnFee).where(ReturnFee.return_id == held.id))
        _resolve_reasons(session, [held.id], now, "ingest: replaced by a corrected payload")
        session.expire(held, ["lines", "fees", "tax_lines", "quarantine_reasons"])
        for key, value in it.values.ret.items():
            if key not in ("organization_id", "ingested_at"):
                setattr(held, key, value)
        held.updated_at = now
        held.lines.extend(LineRow(**line) for line in it.values.lines)
        held.fees.extend(ReturnFee(**fee) for fee in it.values.fees)
        held.tax_lines.extend(ReturnTaxLine(**tax) for tax in it.values.fee_taxes)

    @staticmethod
    def _supersede(session: Session, groups: Iterable[list[Held]], now: datetime) -> int:
        changed: list[Held] = []
        for rows in groups:
            newest = max(r.stated for r in rows)
            if newest < 1:  # only unreadable revisions (negative stand-ins): none is newer than another
                continue
            for row in rows:
                if row.stated < newest and row.sync_status not in _KEEP_ON_SUPERSEDE:
                    row.sync_status = ReturnSyncStatus.SUPERSEDED
                    changed.append(row)
        if changed:
            session.flush()
            ids = [r.id for r in changed if r.id is not None]
            for start in range(0, len(ids), _IN_CHUNK):
                session.execute(update(Return).where(Return.id.in_(ids[start:start + _IN_CHUNK]))
                                .values(sync_status=ReturnSyncStatus.SUPERSEDED, updated_at=now)
                                .execution_options(synchronize_session=False))
            for r in changed:
                if r.orm is not None:  # keep the loaded row in step without another write
                    set_committed_value(r.orm, "sync_status", ReturnSyncStatus.SUPERSEDED)
                    set_committed_value(r.orm, "updated_at", now)
            _resolve_reasons(session, ids, now, "ingest: superseded by a newer revision")
        return len(changed)

    # --- small helpers -------------------------------------------------------------------------

    @staticmethod
    def _org(session: Session, org_code: str) -> Organization:
        org = session.scalars(select(Organization).where(Organization.code == org_code)).one_or_none()
        if org is None:
            raise NeedsPersonError(f"Organization {org_code!r} is not set up in this app",
                                   action="add it from the RMS's organization list or connect its ledger first")
        return org

    @staticmethod
    def _cursor_row(session: Session, org_id: int) -> SyncCursor | None:
        return session.scalars(select(SyncCursor).where(SyncCursor.organization_id == org_id,
                                                        SyncCursor.source == CURSOR_SOURCE)).one_or_none()

    def _save_cursor(self, session: Session, org_id: int, value: str) -> None:
        row = self._cursor_row(session, org_id)
        if row is None:
            session.add(SyncCursor(organization_id=org_id, source=CURSOR_SOURCE, cursor_value=value,
                                   updated_at=self._clock.now()))
        elif row.cursor_value != value:
            row.cursor_value = value
            row.updated_at = self._clock.now()

    @staticmethod
    def _translate_races() -> _RaceGuard:
        return _RaceGuard()

    def _event(self, kind: str, severity: Severity, ctx: OrgContext, it: Item, message: str,
               details: Mapping[str, Any] | None = None) -> Event:
        return Event(kind=kind, severity=severity, message=message, occurred_at=self._clock.now(),
                     org=ctx.org_code, rma=it.rma_number[:64],
                     details={"rms_id": it.key[0], "revision": it.key[1], **(details or {})})


class _RaceGuard:
    """Turns a unique-key collision (two pulls of one organization at once) into a transient error."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, IntegrityError | KeyTaken):
            raise TransientError("Another pull or import of this organization wrote the same returns at the "
                                 "same time; nothing was lost", action="nothing to do: the next pull "
                                 "continues where this one stopped") from exc


def _progress(result: IngestResult, records: RecordSource | None = None) -> IngestProgress:
    return IngestProgress(read=result.read, ingested=result.ingested, quarantined=result.quarantined,
                          unchanged=result.unchanged, conflicts=result.conflicts, batches=result.pages,
                          duplicates=result.duplicates,
                          bytes_read=records.bytes_read if records is not None else None,
                          bytes_total=records.bytes_total if records is not None else None)


def _resolve_reasons(session: Session, return_ids: list[int], now: datetime, by: str) -> None:
    for start in range(0, len(return_ids), _IN_CHUNK):
        session.execute(update(QuarantineReason)
                        .where(QuarantineReason.return_id.in_(return_ids[start:start + _IN_CHUNK]),
                               QuarantineReason.resolved_at.is_(None))
                        .values(resolved_at=now, resolved_by=by)
                        .execution_options(synchronize_session=False))


def _apply_profile(org: Organization, ctx: OrgContext, now: datetime) -> bool:
    """Bring an organization row in line with the RMS; True if anything changed."""
    settings = dict(org.settings or {})
    wanted = {"name": ctx.name or org.name, "home_currency": ctx.home_currency or org.home_currency,
              "timezone": ctx.timezone or org.timezone}
    changed = settings.get(PROFILE_KEY) != ctx.to_profile() or any(
        getattr(org, k) != v for k, v in wanted.items())
    if changed:
        for k, v in wanted.items():
            setattr(org, k, v)
        settings[PROFILE_KEY] = ctx.to_profile()
        org.settings = settings
        org.updated_at = now
    return changed
