"""RMS → local store: pull the change feed by cursor, validate, upsert exactly once, quarantine.

Exactly once, crash-safe (DESIGN §7):

- Every revision is an idempotent upsert on ``(organization, RMS id, revision)``. A replay of the
  same revision with the same payload changes nothing (``unchanged``). A *different* payload for a
  revision we already hold replaces it only while nothing downstream has used it (status NEW or
  QUARANTINED — e.g. a corrected export file); otherwise it is a ``conflict``: rows stay as they
  are and a warning event asks for a new revision instead.
- Within one batch (a pull page, or a whole import file) the first copy of a revision counts; a
  later identical copy is a ``duplicate`` (a no-op), a later *different* copy is quarantined with
  ``conflicting_revision`` naming both copies (kept under a stand-in revision, see
  :func:`~desktop.services.rms.records.unreadable_revision`). So records in = ingested +
  quarantined + unchanged + duplicates + conflicts, always.
- One page = one write transaction, holding the page's rows *and* the new cursor. A crash before
  the commit re-reads that page on restart; the upsert makes that harmless. Events are published
  only after the commit, so no event ever describes a rolled-back row.
- A valid record becomes a ``Return`` with status NEW; an invalid one a QUARANTINED ``Return``
  that keeps the raw payload, plus one ``QuarantineReason`` per problem — never dropped.
- A newer revision marks older revisions of the same return SUPERSEDED, except those already
  POSTED (the sync engine adjusts those) or deliberately IGNORED; quarantine reasons of a
  superseded revision are resolved, since nobody needs to fix a revision that no longer counts.

Database work is batched per page: one query loads the page's existing revisions, one flush
inserts the returns (lines, fees, fee taxes), a second adds the line taxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.domain import Problem, ReturnRecord
from desktop.services.core.errors import NeedsPersonError, TransientError
from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.services.rms.client import Page, RmsClient, UnreadablePage
from desktop.services.rms.context import PROFILE_KEY, OrgContext
from desktop.services.rms.feed_guard import ApplyPage, FeedGuard, Repull
from desktop.services.rms.parse import RMS_FIX, parse_return, problem_json
from desktop.services.rms.records import add_line_taxes, placeholder_row, same_payload, to_rows, unreadable_revision
from desktop.services.rms.storable import storable
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

__all__ = ["CURSOR_SOURCE", "Incoming", "IngestResult", "IngestService", "OrgSyncResult", "QuarantinedRecord"]

#: ``sync_cursors.source`` of the RMS change feed.
CURSOR_SOURCE = "rms"
#: Statuses a newer revision does not touch.
_KEEP_ON_SUPERSEDE = frozenset({ReturnSyncStatus.POSTED, ReturnSyncStatus.SUPERSEDED, ReturnSyncStatus.IGNORED})
#: Statuses whose content a corrected payload of the same revision may still replace.
_REPLACEABLE = frozenset({ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED})
_IN_CHUNK = 500
#: The quarantine code of a second, different copy of one revision in one batch.
CONFLICTING_REVISION = "conflicting_revision"


@dataclass(frozen=True)
class Incoming:
    """One record to ingest, as the source stated it.

    Attributes:
        raw: the ``Return`` object (any JSON value: a non-object is quarantined too).
        annotate: rewrites each problem before it is stored (file import adds row numbers).
        extra_problems: problems found before parsing (e.g. CSV rows of one return disagreeing).
    """

    raw: object
    annotate: Callable[[Problem], Problem] | None = None
    extra_problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class QuarantinedRecord:
    rms_id: str
    revision: int
    rma_number: str
    problems: tuple[Problem, ...]
    stand_ins: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"rms_id": self.rms_id, "revision": self.revision, "rma_number": self.rma_number,
                "problems": [problem_json(p) for p in self.problems], "placeholders": list(self.stand_ins)}


@dataclass
class IngestResult:
    """What one pull or import did (counts are revisions)."""

    ingested: int = 0
    quarantined: int = 0
    unchanged: int = 0
    superseded: int = 0
    replaced: int = 0
    conflicts: int = 0
    #: Identical copies of a revision already in the same batch (no-ops).
    duplicates: int = 0
    pages: int = 0
    #: Feed pages the RMS never answered readably, stepped over (``rms/feed_guard.py``).
    set_aside: int = 0
    quarantine: list[QuarantinedRecord] = field(default_factory=list)

    def merge(self, other: IngestResult) -> None:
        for name in ("ingested", "quarantined", "unchanged", "superseded", "replaced", "conflicts", "duplicates",
                     "pages", "set_aside"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.quarantine.extend(other.quarantine)

    @property
    def records(self) -> int:
        """Records handed in: every one is exactly one of these (``replaced`` ones are also ingested
        or quarantined; ``superseded`` counts older rows)."""
        return self.ingested + self.quarantined + self.unchanged + self.duplicates + self.conflicts

    def counts(self) -> dict[str, int]:
        return {"ingested": self.ingested, "quarantined": self.quarantined, "unchanged": self.unchanged,
                "superseded": self.superseded, "replaced": self.replaced, "conflicts": self.conflicts,
                "duplicates": self.duplicates, "set_aside": self.set_aside}


@dataclass
class OrgSyncResult:
    """What :meth:`IngestService.ensure_organizations` did, by organization code."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # code → why


@dataclass
class _Item:
    incoming: Incoming
    raw: dict[str, Any]
    record: ReturnRecord | None
    problems: list[Problem]
    row: Return
    stand_ins: list[str]
    label: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return self.row.rms_id, self.row.revision


#: The first copy of each (RMS id, revision) in a batch: its raw payload and where it was.
_Firsts = dict[tuple[str, int], tuple[dict[str, Any], str]]


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

    def pull(self, org_code: str, client: RmsClient, *, page_size: int = 200) -> IngestResult:
        """Page through the RMS change feed of ``org_code`` from its saved cursor to the end. A page
        the RMS does not send readably is retried on later pulls and, after a bound, set aside
        (``rms/feed_guard.py``)."""
        org_id, ctx, cursor = self._start(org_code, client)
        guard = FeedGuard(self._db, self._bus, self._clock, org_id, org_code)
        result = IngestResult()
        apply = self._page_applier(org_id, ctx, result, move_cursor=True)
        while True:
            try:
                page = client.changes(cursor, page_size, organization=org_code)
            except UnreadablePage as exc:
                cursor, stepped = guard.unreadable(client, cursor, page_size, exc, apply,
                                                   saved=result.ingested + result.quarantined)
                result.set_aside += stepped
                continue
            if not page.returns and page.next_cursor == (cursor or ""):
                break
            apply(page, guard.readable(cursor))
            cursor = page.next_cursor
            if not page.has_more or not page.returns:
                break
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

    def _page_applier(self, org_id: int, ctx: OrgContext, result: IngestResult, *, move_cursor: bool) -> ApplyPage:
        """Commit one page: its records, the cursor after it (``move_cursor``) and ``also``, in one
        transaction; then publish its events and add its counts to ``result``."""
        def apply(page: Page, also: Callable[[Session], None] | None) -> None:
            items = [Incoming(raw=raw) for raw in page.returns]
            with self._translate_races(), self._db.write_session() as session:
                part, events = self._apply(session, org_id, ctx, items, fix=RMS_FIX, source="rms")
                if move_cursor:
                    self._save_cursor(session, org_id, page.next_cursor)
                if also is not None:
                    also(session)
            for event in events:
                self._bus.publish(event)
            part.pages = 1 if page.returns else 0
            result.merge(part)
        return apply

    # --- ingest from elsewhere (file import) ----------------------------------------------------

    def ingest(self, org_code: str, items: Sequence[Incoming], *, ctx: OrgContext, fix: str, source: str,
               batch_size: int = 200) -> IngestResult:
        """Validate and upsert ``items`` exactly as :meth:`pull` does, ``batch_size`` per transaction."""
        with self._db.session() as session:
            org_id = self._org(session, org_code).id
        result = IngestResult()
        firsts: _Firsts = {}  # the whole call is one batch: a conflicting copy is found across chunks
        for start in range(0, len(items), batch_size):
            with self._translate_races(), self._db.write_session() as session:
                part, events = self._apply(session, org_id, ctx, items[start:start + batch_size], fix=fix,
                                           source=source, firsts=firsts, offset=start)
            for event in events:
                self._bus.publish(event)
            result.merge(part)
        return result

    # --- the upsert ------------------------------------------------------------------------------

    def _apply(self, session: Session, org_id: int, ctx: OrgContext, incoming: Sequence[Incoming], *,
               fix: str, source: str, firsts: _Firsts | None = None, offset: int = 0
               ) -> tuple[IngestResult, list[Event]]:
        now = self._clock.now()
        result = IngestResult()
        events: list[Event] = []
        firsts = {} if firsts is None else firsts
        copies = [self._one_copy(self._prepare(inc, org_id, ctx, now, fix, offset + n), firsts, org_id, now, fix)
                  for n, inc in enumerate(incoming)]
        items = [it for it in copies if it is not None]
        result.duplicates = len(copies) - len(items)  # identical copies of one earlier in the batch
        by_id: dict[str, list[Return]] = {}
        for row in self._existing(session, org_id, {it.row.rms_id for it in items}):
            by_id.setdefault(row.rms_id, []).append(row)
        by_key = {(r.rms_id, r.revision): r for rows in by_id.values() for r in rows}
        fresh: list[_Item] = []
        added: list[Return] = []
        touched: set[str] = set()
        for it in items:
            held = by_key.get(it.key)
            if held is not None and same_payload(held.raw_payload, it.raw):
                result.unchanged += 1
                events.append(self._event(EventKind.RETURN_UNCHANGED, Severity.DEBUG, ctx, it.row,
                                          f"{_name(it.row)} is already here, unchanged"))
                continue
            if held is not None and held.sync_status not in _REPLACEABLE:
                result.conflicts += 1
                events.append(self._event(
                    EventKind.RETURN_REJECTED, Severity.WARNING, ctx, it.row,
                    f"{_name(it.row)} arrived again with different content, but it is already "
                    f"{held.sync_status.value}; the change was not applied — ask for a new revision in the RMS",
                    {"source": source, "status": held.sync_status.value}))
                continue
            if held is not None:
                self._overwrite(session, held, it.row, now)
                it.row = held
                result.replaced += 1
            else:
                session.add(it.row)
                added.append(it.row)
                by_key[it.key] = it.row
                by_id.setdefault(it.row.rms_id, []).append(it.row)
            touched.add(it.row.rms_id)
            fresh.append(it)
        session.flush()
        for row in added:  # brand-new rows have no children but those just added: skip a SELECT each
            _known_empty(row)
        for it in fresh:
            if it.record is not None:
                add_line_taxes(it.row, it.record)
                result.ingested += 1
                events.append(self._event(EventKind.RETURN_INGESTED, Severity.INFO, ctx, it.row,
                                          f"{_name(it.row)} ingested", {"source": source}))
                continue
            stand = {"placeholders": it.stand_ins} if it.stand_ins else {}
            for p in it.problems:
                it.row.quarantine_reasons.append(QuarantineReason(
                    code=p.code, message=p.message, created_at=now,
                    details={"field": p.field, "source": source, **stand}))
            result.quarantined += 1
            result.quarantine.append(QuarantinedRecord(it.row.rms_id, it.row.revision, it.row.rma_number,
                                                       tuple(it.problems), tuple(it.stand_ins)))
            first = it.problems[0].message if it.problems else ""
            more = f" (and {len(it.problems) - 1} more)" if len(it.problems) > 1 else ""
            events.append(self._event(
                EventKind.RETURN_QUARANTINED, Severity.WARNING, ctx, it.row,
                f"{_name(it.row)} quarantined: {first}{more}",
                {"source": source, "problems": [problem_json(p) for p in it.problems], **stand}))
        result.superseded = self._supersede(session, [by_id[i] for i in touched], now)
        session.flush()
        return result, events

    def _prepare(self, inc: Incoming, org_id: int, ctx: OrgContext, now: datetime, fix: str, position: int
                 ) -> _Item:
        # What the database cannot hold (NUL, unpaired surrogates, endless numbers, deep nesting) is
        # replaced in a copy and quarantines the record; everything after this sees the copy only.
        safe, unstorable = storable(inc.raw, fix=fix)
        raw: dict[str, Any] = dict(safe) if isinstance(safe, Mapping) else {"_unreadable": safe}
        record, problems = parse_return(safe, ctx, fix=fix)
        problems = [*inc.extra_problems, *unstorable, *problems]
        if inc.annotate is not None:
            problems = [inc.annotate(p) for p in problems]
        label = _where(inc, position)
        if record is not None and not problems:
            return _Item(inc, raw, record, [], to_rows(record, org_id, raw, now), [], label)
        row, stand_ins = placeholder_row(raw, org_id, now)
        return _Item(inc, raw, None, problems, row, stand_ins, label)

    @staticmethod
    def _one_copy(it: _Item, firsts: _Firsts, org_id: int, now: datetime, fix: str) -> _Item | None:
        """``it``; None for an identical copy of a revision earlier in the batch; for a *different*
        copy, a quarantined stand-in naming both (kept under a stand-in revision: the first copy holds
        the key). The one owner of "one revision, one content" within a batch."""
        first = firsts.get(it.key)
        if first is None:
            firsts[it.key] = (it.raw, it.label)
            return it
        first_raw, first_label = first
        if same_payload(first_raw, it.raw):
            return None
        differ = sorted(k for k in set(first_raw) | set(it.raw) if not same_payload(first_raw.get(k), it.raw.get(k)))
        revision = it.row.revision
        row, stand_ins = placeholder_row(it.raw, org_id, now)
        row.revision = unreadable_revision(it.raw)
        problem = Problem(
            CONFLICTING_REVISION,
            f"Return {row.rma_number} revision {revision} is in this batch twice with different content "
            f"({', '.join(differ[:8])} differ): the first copy ({first_label}) was taken, this "
            f"copy ({it.label}) is held here and not used — {fix}", "revision")
        conflict = _Item(it.incoming, it.raw, None, [problem, *it.problems], row, [*stand_ins, "revision"], it.label)
        again = firsts.get(conflict.key)  # the same different copy a third time: a duplicate of it
        if again is not None and same_payload(again[0], conflict.raw):
            return None
        firsts.setdefault(conflict.key, (conflict.raw, conflict.label))
        return conflict

    @staticmethod
    def _existing(session: Session, org_id: int, rms_ids: Iterable[str]) -> list[Return]:
        ids = sorted(rms_ids)
        rows: list[Return] = []
        for start in range(0, len(ids), _IN_CHUNK):
            rows.extend(session.scalars(select(Return).where(
                Return.organization_id == org_id, Return.rms_id.in_(ids[start:start + _IN_CHUNK]))))
        return rows

    @staticmethod
    def _overwrite(session: Session, held: Return, fresh: Return, now: datetime) -> None:
        """Give ``held`` (same key, status NEW/QUARANTINED) the content of ``fresh`` in place.

        In place keeps the row's id (anything pointing at it stays valid). Children go through
        Core deletes: the ORM does not know that tax lines hang off lines, and would otherwise
        delete rows the database already cascaded away.
        """
        session.execute(delete(ReturnTaxLine).where(ReturnTaxLine.return_id == held.id))
        session.execute(delete(LineRow).where(LineRow.return_id == held.id))
        session.execute(delete(ReturnFee).where(ReturnFee.return_id == held.id))
        _resolve_reasons(session, [held.id], now, "ingest: replaced by a corrected payload")
        session.expire(held, ["lines", "fees", "tax_lines", "quarantine_reasons"])
        for column in Return.__table__.columns:
            if column.key not in ("id", "organization_id", "ingested_at"):
                setattr(held, column.key, getattr(fresh, column.key))
        held.updated_at = now
        for name in ("lines", "fees", "tax_lines"):
            children = list(getattr(fresh, name))
            getattr(fresh, name).clear()
            getattr(held, name).extend(children)

    @staticmethod
    def _supersede(session: Session, groups: Iterable[list[Return]], now: datetime) -> int:
        changed: list[Return] = []
        for rows in groups:
            newest = max(_stated_revision(r) for r in rows)
            if newest < 1:  # only unreadable revisions (negative stand-ins): none is newer than another
                continue
            for row in rows:
                if _stated_revision(row) < newest and row.sync_status not in _KEEP_ON_SUPERSEDE:
                    row.sync_status = ReturnSyncStatus.SUPERSEDED
                    row.updated_at = now
                    changed.append(row)
        if changed:
            session.flush()
            _resolve_reasons(session, [r.id for r in changed], now, "ingest: superseded by a newer revision")
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

    def _event(self, kind: str, severity: Severity, ctx: OrgContext, row: Return, message: str,
               details: Mapping[str, Any] | None = None) -> Event:
        return Event(kind=kind, severity=severity, message=message, occurred_at=self._clock.now(),
                     org=ctx.org_code, rma=row.rma_number[:64],
                     details={"rms_id": row.rms_id, "revision": row.revision, **(details or {})})


class _RaceGuard:
    """Turns a unique-key collision (two pulls of one organization at once) into a transient error."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, IntegrityError):
            raise TransientError("Another pull or import of this organization wrote the same returns at the "
                                 "same time; nothing was lost", action="nothing to do: the next pull "
                                 "continues where this one stopped") from exc


def _known_empty(row: Return) -> None:
    """Mark a row's never-touched child collections as empty, so appending to them after the flush
    does not lazy-load them (one SELECT per return). Only for a row this transaction inserted."""
    state = sa_inspect(row)
    if not state.persistent:
        return
    for name in ("quarantine_reasons", "tax_lines"):
        if name in state.unloaded:
            set_committed_value(row, name, [])


def _name(row: Return) -> str:
    revision = _stated_revision(row)
    return f"Return {row.rma_number} (revision {revision if revision >= 1 else 'unreadable'})"


def _stated_revision(row: Return) -> int:
    """The revision the RMS stated; a stand-in (negative) only when it stated none readable. A
    conflicting copy keeps its stated revision in the payload (the column holds a stand-in)."""
    if row.revision >= 1:
        return row.revision
    stated = (row.raw_payload or {}).get("revision")
    return stated if isinstance(stated, int) and not isinstance(stated, bool) and 1 <= stated < 2**31 \
        else row.revision


def _where(inc: Incoming, position: int) -> str:
    """Where a record was in its batch, as the source names it (``orders.csv row 4``) or its place."""
    if inc.annotate is not None:
        probe = inc.annotate(Problem("where", "", None)).message
        if probe.endswith(": "):
            return probe[:-2]
    return f"record {position + 1} of the batch"


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
