"""A change-feed page the RMS cannot send: retried, counted, and after a bound set aside (issue 13).

A *record* the app cannot use is quarantined by ingest and the cursor moves on. A *page* that is not
readable at all — an HTML error page, a cut-off body, JSON that is not the documented envelope, all
with HTTP 200 (:class:`~desktop.services.rms.client.UnreadablePage`) — has no records to quarantine
and no ``next_cursor`` to move on to. This module is the one owner of what happens then:

1. **Retried.** The pull stops with a transient error; the next pull asks for the same page again.
   Consecutive failures of one page (one cursor) are counted in the database, so the count
   survives restarts; a page read once clears it. An RMS that is down (5xx, network) is not counted:
   that is an outage, not a page the RMS cannot send.
2. **Set aside** after :data:`MAX_PAGE_ATTEMPTS` consecutive failures. The page is narrowed (half,
   a quarter… of it) to find what can be read; what can is ingested as usual, and each revision
   that cannot be sent even on its own is stepped over with the feed's ``skip`` parameter
   (``docs/rms-api.yaml``) and recorded as a *set-aside window*: the cursor before it, how many
   attempts, what the RMS sent instead (the redacted start of it). The cursor moves past it in the
   same transaction, and the pull goes on with the next page. A person sees an ERROR event in the
   error log saying what to do.
3. **Re-read later.** Cursors never expire, so a window can be asked for again:
   ``returns-ledger rms repull --org ORG`` (:meth:`FeedGuard.repull`) ingests every window the RMS
   now sends readably and keeps the rest.

The state lives in ``sync_cursors`` (source :data:`STATE_SOURCE`, one row per organization) as exact
JSON; only the ingest of that organization (which runs under its lock) writes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.services.core import exact_json
from desktop.services.core.clock import Clock
from desktop.services.core.errors import NeedsPersonError, TransientError
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.rms.client import Page, RmsClient, UnreadablePage
from desktop.services.rms.progress import StopCheck
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, SyncCursor

__all__ = ["MAX_PAGE_ATTEMPTS", "STATE_SOURCE", "UNREADABLE_PAGE", "FeedGuard", "FeedState", "Repull",
           "SetAside", "load_state", "set_aside_windows"]

#: Consecutive failures of one feed page before it is set aside (each scheduled pull is one attempt).
MAX_PAGE_ATTEMPTS = 5
#: ``sync_cursors.source`` of the per-organization feed-problem state.
STATE_SOURCE = "rms_feed_problems"
#: The problem code of a set-aside window (events and the ``rms set-aside`` listing).
UNREADABLE_PAGE = "unreadable_page"

#: Commit a readable page (its records and, unless re-reading a window, the cursor) plus ``also``.
ApplyPage = Callable[[Page, Callable[[Session], None] | None], None]


@dataclass
class Failing:
    """The page (cursor) the RMS has not sent readably, and how often in a row."""

    cursor: str
    attempts: int
    first_failed_at: str
    last_failed_at: str
    what: str
    excerpt: str
    content_type: str


@dataclass
class SetAside:
    """Revisions stepped over: ``revisions`` of them right after ``cursor``."""

    id: str
    cursor: str
    next_cursor: str
    revisions: int
    attempts: int
    first_failed_at: str
    set_aside_at: str
    what: str
    excerpt: str
    content_type: str
    retries: int = 0
    last_retry_at: str | None = None


@dataclass
class FeedState:
    failing: Failing | None = None
    set_aside: list[SetAside] = field(default_factory=list)

    def to_text(self) -> str:
        return exact_json.dumps({"failing": asdict(self.failing) if self.failing else None,
                                 "set_aside": [asdict(w) for w in self.set_aside]})

    @classmethod
    def from_text(cls, text: str | None) -> FeedState:
        raw = exact_json.loads(text) if text else {}
        failing = raw.get("failing")
        return cls(Failing(**failing) if failing else None, [SetAside(**w) for w in raw.get("set_aside") or []])


@dataclass
class Repull:
    """What :meth:`FeedGuard.repull` did: windows read and ingested, and those still unreadable."""

    recovered: list[SetAside] = field(default_factory=list)
    still_unreadable: list[SetAside] = field(default_factory=list)


def _row(session: Session, org_id: int, *, lock: bool = False) -> SyncCursor | None:
    stmt = select(SyncCursor).where(SyncCursor.organization_id == org_id, SyncCursor.source == STATE_SOURCE)
    return session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()


def load_state(session: Session, org_id: int, *, lock: bool = False) -> FeedState:
    """The organization's feed-problem state (empty when there is none); ``lock``: the row is held
    until the transaction ends (``rms repull`` may run beside a worker's pull)."""
    row = _row(session, org_id, lock=lock)
    return FeedState.from_text(row.cursor_value if row is not None else None)


def set_aside_windows(db: Database, org_code: str | None = None) -> dict[str, list[SetAside]]:
    """Every organization's set-aside windows (only those with any), oldest first; ``org_code``: one."""
    stmt = select(Organization.code, SyncCursor.cursor_value).join(
        SyncCursor, SyncCursor.organization_id == Organization.id).where(SyncCursor.source == STATE_SOURCE)
    if org_code is not None:
        stmt = stmt.where(Organization.code == org_code)
    with db.session() as session:
        found = session.execute(stmt.order_by(Organization.code)).all()
    windows = {code: FeedState.from_text(text).set_aside for code, text in found}
    return {code: ws for code, ws in windows.items() if ws}


class FeedGuard:
    """Counts, sets aside and re-reads unreadable pages of one organization's feed (module docstring)."""

    def __init__(self, db: Database, bus: EventBus, clock: Clock, org_id: int, org_code: str) -> None:
        self._db, self._bus, self._clock = db, bus, clock
        self._org_id, self._org = org_id, org_code
        with db.session() as session:
            failing = load_state(session, org_id).failing
        self._failing_cursor = failing.cursor if failing is not None else None

    # --- during a pull -------------------------------------------------------------------------
    def read(self, client: RmsClient, cursor: str | None, page_size: int, apply: ApplyPage, *,
             saved: Callable[[], int], cancelled: StopCheck | None = None) -> tuple[int, bool]:
        """Page through the feed from ``cursor`` to its end, committing each page with ``apply`` (with
        this guard's bookkeeping in its transaction); an unreadable page goes to :meth:`unreadable`
        (``saved()``: revisions committed so far). ``cancelled()`` is asked after each page: a cancel
        stops there. Returns (revisions set aside, whether it stopped on a cancel before the end)."""
        stepped = 0
        while True:
            try:
                page = client.changes(cursor, page_size, organization=self._org)
            except UnreadablePage as exc:
                cursor, n = self.unreadable(client, cursor, page_size, exc, apply, saved=saved())
                stepped += n
                if cancelled is not None and cancelled():
                    return stepped, True
                continue
            if not page.returns and page.next_cursor == (cursor or ""):
                return stepped, False
            apply(page, self.readable(cursor))
            cursor = page.next_cursor
            if not page.has_more or not page.returns or (cancelled is not None and cancelled()):
                return stepped, bool(page.has_more and page.returns)

    def readable(self, cursor: str | None) -> Callable[[Session], None] | None:
        """The page from ``cursor`` was read: what to run in its transaction (forget its failures)."""
        if self._failing_cursor is None or self._failing_cursor != (cursor or ""):
            return None
        self._failing_cursor = None
        return self._clear_failing

    def unreadable(self, client: RmsClient, cursor: str | None, page_size: int, exc: UnreadablePage,
                   apply: ApplyPage, *, saved: int = 0) -> tuple[str, int]:
        """Count a failure of the page from ``cursor``; below the bound raise a transient error (the
        next pull retries; ``saved``: revisions this pull committed before it, said in the message),
        at it set the page aside. Returns (the cursor after it, windows set aside)."""
        attempts = self._count(cursor or "", exc)
        if attempts < MAX_PAGE_ATTEMPTS:
            before = f"; the {saved} revision{'' if saved == 1 else 's'} read before it are saved" if saved else ""
            raise TransientError(
                f"{self._org}: the RMS sent a page of returns the app cannot read ({exc.what}) — attempt "
                f"{attempts} of {MAX_PAGE_ATTEMPTS}; after {MAX_PAGE_ATTEMPTS} that part of the feed is set aside "
                f"so the returns after it keep coming{before}", platform="rms", platform_code=exc.platform_code,
                platform_message=exc.excerpt,
                action="nothing yet: the next pull asks again; if it keeps happening, ask the RMS vendor") from exc
        return self._step_over(client, cursor or "", page_size, exc, attempts, apply)

    def _count(self, cursor: str, exc: UnreadablePage) -> int:
        now = self._clock.now().isoformat()
        with self._db.write_session() as session:
            state = load_state(session, self._org_id, lock=True)
            failing = state.failing
            if failing is None or failing.cursor != cursor:
                failing = Failing(cursor, 0, now, now, exc.what, exc.excerpt, exc.content_type)
            failing.attempts += 1
            failing.last_failed_at, failing.what, failing.excerpt = now, exc.what, exc.excerpt
            state.failing = failing
            self._save(session, state)
        self._failing_cursor = cursor
        return failing.attempts

    def _step_over(self, client: RmsClient, cursor: str, page_size: int, exc: UnreadablePage, attempts: int,
                   apply: ApplyPage) -> tuple[str, int]:
        """Read what can be read of the page's span in smaller pages; step over each revision the RMS
        cannot send even alone. Requests: a few per unreadable revision (halving), one per page read."""
        covered, stepped, limit, cur = 0, 0, max(1, page_size // 2), cursor
        while covered < page_size:
            want = min(limit, page_size - covered)
            try:
                page = client.changes(cur, want, organization=self._org)
            except UnreadablePage as again:
                exc = again
                if want > 1:
                    limit = max(1, want // 2)
                    continue
                cur = self._skip_one(client, cur, exc, attempts, apply)
                covered, stepped, limit = covered + 1, stepped + 1, max(1, (page_size - covered) // 2)
                continue
            apply(page, self._carry(page.next_cursor))
            cur, covered = page.next_cursor, covered + len(page.returns)
            if not page.returns or not page.has_more:
                break
        if self._failing_cursor is not None:
            with self._db.write_session() as session:
                self._clear_failing(session)
            self._failing_cursor = None
        return cur, stepped

    def _skip_one(self, client: RmsClient, cursor: str, exc: UnreadablePage, attempts: int, apply: ApplyPage) -> str:
        try:
            step = client.changes(cursor, 0, organization=self._org, skip=1)
        except UnreadablePage as again:
            raise TransientError(f"{self._org}: the RMS could not step over a return it cannot send ({again.what})",
                                 platform="rms", action="nothing yet: the next pull tries again; if it keeps "
                                 "happening, ask the RMS vendor") from again
        if step.next_cursor in ("", cursor):
            raise NeedsPersonError(f"{self._org}: the RMS cannot step over a return it cannot send (it ignored "
                                   "the feed's skip parameter), so its returns feed is stuck there",
                                   platform="rms", action="ask the RMS vendor to fix the unreadable page or to "
                                   "support skip (docs/rms-api.yaml)")
        now = self._clock.now().isoformat()
        failing = None
        window = SetAside(hashlib.sha256(cursor.encode()).hexdigest()[:12], cursor, step.next_cursor, 1, attempts,
                          now, now, exc.what, exc.excerpt, exc.content_type)

        def record(session: Session) -> None:
            nonlocal failing
            state = load_state(session, self._org_id, lock=True)
            failing = state.failing
            if failing is not None:
                window.first_failed_at = failing.first_failed_at
            state.failing = None
            state.set_aside = [w for w in state.set_aside if w.cursor != cursor] + [window]
            self._save(session, state)

        apply(Page([], step.next_cursor, True), record)  # the cursor moves in the same transaction
        self._failing_cursor = None
        self._bus.emit(EventKind.RETURN_PAGE_SET_ASIDE, Severity.ERROR, _set_aside_text(self._org, window),
                       org=self._org, platform="rms", platform_code=UNREADABLE_PAGE, platform_message=window.excerpt,
                       details={"action": _what_to_do(self._org), "window": asdict(window),
                                "problems": [{"code": UNREADABLE_PAGE, "field": None,
                                              "message": f"The RMS answered: {window.what}"}]})
        return step.next_cursor

    # --- later: a person asks for the windows again ------------------------------------------
    def repull(self, client: RmsClient, apply_window: ApplyPage) -> Repull:
        """Ask the RMS for every set-aside window again; ingest and forget those it now sends."""
        with self._db.session() as session:
            windows = load_state(session, self._org_id).set_aside
        out = Repull()
        for window in windows:
            try:
                page = client.changes(window.cursor, window.revisions, organization=self._org)
            except UnreadablePage as exc:
                self._tried(window, exc)
                out.still_unreadable.append(window)
                continue
            apply_window(page, self._forgetting(window))
            out.recovered.append(window)
            self._bus.emit(EventKind.RETURN_PAGE_RECOVERED, Severity.INFO,
                           f"{self._org}: the return set aside on {window.set_aside_at[:10]} was read again and "
                           f"ingested ({len(page.returns)} revision{'' if len(page.returns) == 1 else 's'})",
                           org=self._org, platform="rms", details={"window": asdict(window)})
        return out

    def _tried(self, window: SetAside, exc: UnreadablePage) -> None:
        with self._db.write_session() as session:
            state = load_state(session, self._org_id, lock=True)
            for w in state.set_aside:
                if w.id == window.id:
                    w.retries, w.last_retry_at, w.what, w.excerpt = (w.retries + 1, self._clock.now().isoformat(),
                                                                     exc.what, exc.excerpt)
                    window.retries, window.excerpt = w.retries, w.excerpt
            self._save(session, state)

    def _forgetting(self, window: SetAside) -> Callable[[Session], None]:
        def forget(session: Session) -> None:
            state = load_state(session, self._org_id, lock=True)
            state.set_aside = [w for w in state.set_aside if w.id != window.id]
            self._save(session, state)
        return forget

    # --- the row ---------------------------------------------------------------------------------
    def _clear_failing(self, session: Session) -> None:
        state = load_state(session, self._org_id, lock=True)
        if state.failing is not None:
            state.failing = None
            self._save(session, state)

    def _carry(self, next_cursor: str) -> Callable[[Session], None]:
        """While narrowing: the count moves with the cursor, so a crash part-way resumes the set-aside
        on the next pull instead of counting the rest of the page from 1 again."""
        def carry(session: Session) -> None:
            state = load_state(session, self._org_id, lock=True)
            if state.failing is not None:
                state.failing.cursor = next_cursor
                self._save(session, state)
        self._failing_cursor = next_cursor
        return carry

    def _save(self, session: Session, state: FeedState) -> None:
        row = _row(session, self._org_id)
        text = state.to_text()
        if row is None:
            session.add(SyncCursor(organization_id=self._org_id, source=STATE_SOURCE, cursor_value=text,
                                   updated_at=self._clock.now()))
        else:
            row.cursor_value, row.updated_at = text, self._clock.now()
        session.flush()


def _set_aside_text(org: str, window: SetAside) -> str:
    return (f"{org}: a return from the returns system (RMS) could not be read after {window.attempts} attempts and "
            "was set aside, so the returns after it keep coming in. It is not in this app yet; nothing about it "
            "was posted to the ledger.")


def _what_to_do(org: str) -> str:
    return (f"ask the RMS vendor why their returns feed sends an unreadable answer (its start is shown with this "
            f"problem); once they have fixed it, run `returns-ledger rms repull --org {org}` to read the set-aside "
            "return again")
