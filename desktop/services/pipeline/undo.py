"""Undo a sync run: take back every document it posted — through the outbox, exactly once.

``runs undo RUN`` (and the approvals queue, with maker-checker on) calls :meth:`UndoService.undo`:

1. **Plan** (also the whole of a dry run): under the connection's posting lock (no push and no
   other undo of the company meanwhile), every live document in the run's scope
   (:func:`~desktop.services.pipeline.runs.scope_rows`) is read from the ledger and compared with
   what we posted, by the pull's own rule (:func:`~desktop.services.pipeline.pull.edited_fields`):
   ``edited`` (total, tax, date or lines differ, or the pull saw an edit), ``changed`` (the
   ledger's version moved — SyncToken / UpdatedDateUTC — with the same amounts: not an edit, say a
   payment applied), ``voided`` / ``deleted`` already, or ``active``.
2. **Refuse or ask**: documents edited in the ledger since are listed one by one and nothing is
   voided unless ``force`` (the person read the list and wants the edited ones taken back too).
   With maker-checker on for ``undo_run``, the undo becomes a request that waits for a second
   person (approving it runs steps 3–5, with the approval recorded in the intents' transaction).
3. **Intent**: one transaction moves every posted document of the scope to ``void_pending``
   (:func:`~desktop.services.pipeline.outbox.request_void`, audited) before any request leaves.
4. **Take back**, dependents first (a Xero refund Payment before its CreditNote): each document is
   voided — or deleted where the platform only allows that (:meth:`LedgerPlatform.take_back`) — at
   the version read in step 1 and under an idempotency mark, then settled ``voided``. A document
   whose intent an earlier, interrupted undo recorded is read again first: found voided or deleted
   it is settled without a second request (the crash landed between the void and the settle).
   That read-before-void, under the posting lock, is what makes every void happen exactly once.
5. **Give the returns back**: in the transaction that settles a revision's last document, the
   revision starts a new posting round (``returns.posting_round`` + 1: its next documents carry new
   keys and numbers) and becomes ``new`` — the next sync plans it with the mapping active then —
   or ``superseded`` when a newer revision waits. The RMS is told per revision through the one
   write-back stage (status ``voided``, keyed by the run), and the run's undo is audited.

Running it again resumes whatever is left (a failed void, an RMS that was down) and otherwise does
nothing. Permissions: reading runs and a dry run need ``view``; undoing needs ``post_documents``
(operator or admin), as voiding one document does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from desktop.services.admin import approvals, audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.connections.service import ConnectionService
from desktop.services.core.clock import Clock
from desktop.services.core.errors import AppError, NeedsPersonError, NeedsReconnect
from desktop.services.core.events import EventBus, Severity
from desktop.services.pipeline import outbox
from desktop.services.pipeline.poster import LockFactory, default_lock
from desktop.services.pipeline.pull import edited_fields, posted_doc
from desktop.services.pipeline.runs import (
    RunDocument,
    RunSummary,
    document,
    load_run,
    run_documents,
    run_summaries,
    scope_rows,
)
from desktop.services.pipeline.writeback import ChangeOutcome, ChangeWriteBack, WriteBackService
from desktop.services.platforms.interface import DocView, LedgerPlatform
from desktop.services.platforms.registry import platform_for
from desktop.services.rms.client import RmsClient
from desktop.services.store.db import Database
from desktop.services.store.models import (
    ApprovalRequest,
    LedgerConnection,
    OutboxDocument,
    OutboxStatus,
    Return,
    ReturnSyncStatus,
    SyncRun,
    SyncRunStatus,
)

__all__ = ["UndoReport", "UndoService"]

EVENT_UNDONE = "run.undone"


@dataclass
class UndoReport:
    """What an undo (or its dry run) found and did, document by document.

    ``outcome``: ``preview`` (dry run) · ``done`` · ``nothing_to_do`` · ``refused`` (edited in the
    ledger; nothing voided) · ``awaiting_approval`` · ``partial`` (some take-backs or write-backs did
    not go through: run it again).
    """

    run: RunSummary
    outcome: str
    documents: list[RunDocument] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    approval: int | None = None
    undo_run: int | None = None

    @property
    def edited(self) -> list[RunDocument]:
        return [d for d in self.documents if d.ledger == "edited"]

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run.to_json(), "outcome": self.outcome, "counts": dict(self.counts),
                "approval": self.approval, "undo_run": self.undo_run, "edited": [d.key for d in self.edited],
                "documents": [d.to_json() for d in self.documents]}


@dataclass
class _Seen:
    """One live document of the scope as the ledger showed it in this undo."""

    row_id: int
    view: DocView | None      # None: gone (QBO answers 610 for a deleted document) or not read
    ledger: str               # active | edited | changed | voided | deleted | unreadable
    note: str | None = None


class UndoService:
    """Runs list, show, and undo (see the module docstring).

    Args:
        rms_client_for: the RMS client of an organization (None: no RMS; nothing is written back).
        lock: the connection posting lock (default: the poster's, so undo and push exclude each other).
    """

    def __init__(self, db: Database, clock: Clock, bus: EventBus, connections: ConnectionService,
                 rms_client_for: Callable[[str], RmsClient | None], *, lock: LockFactory | None = None) -> None:
        self._db, self._clock, self._bus = db, clock, bus
        self._connections = connections
        self._rms_for = rms_client_for
        self._lock = lock or default_lock(db)

    # --- reading ---------------------------------------------------------------------------------
    def runs(self, actor: Actor, org: str | None = None, limit: int = 100) -> list[RunSummary]:
        actor.require(Action.VIEW)
        with self._db.session() as s:
            return run_summaries(s, org, limit)

    def show(self, actor: Actor, run_id: int) -> tuple[RunSummary, list[RunDocument]]:
        actor.require(Action.VIEW)
        with self._db.session() as s:
            _run, _org, summary = load_run(s, run_id)
            return summary, run_documents(s, run_id)

    def preview(self, actor: Actor, run_id: int) -> UndoReport:
        """The dry run: what an undo would do, each document read from the ledger; nothing changes."""
        actor.require(Action.VIEW)
        return self._undo(actor, run_id, dry_run=True)

    # --- undoing ---------------------------------------------------------------------------------
    def undo(self, actor: Actor, run_id: int, *, force: bool = False) -> UndoReport:
        """Undo run ``run_id`` (or resume an undo that stopped); see the module docstring."""
        actor.require(Action.POST_DOCUMENTS)
        return self._undo(actor, run_id, force=force)

    def undo_approved(self, actor: Actor, request_id: int, note: str = "") -> UndoReport:
        """Maker-checker: do the undo of request ``request_id``, approved by ``actor``."""
        with self._db.session() as s:
            req = approvals.precheck(s.get(ApprovalRequest, request_id), actor, request_id,
                                     approvals.ApprovalKind.UNDO_RUN)
            run_id, force = int(req.payload["run_id"]), bool(req.payload.get("force"))
        return self._undo(actor, run_id, force=force, approval=(request_id, note))

    def _undo(self, actor: Actor, run_id: int, *, dry_run: bool = False, force: bool = False,
              approval: tuple[int, str] | None = None) -> UndoReport:
        with self._db.session() as s:
            run, org, summary = load_run(s, run_id)
            if run.kind != "push":
                raise NeedsPersonError(f"Run {run_id} is an undo; only a push run can be undone")
            conn_id = s.scalar(sa.select(OutboxDocument.connection_id).where(OutboxDocument.run_id == run_id,
                                                                               OutboxDocument.connection_id.is_not(None))
                               .limit(1))
            if not dry_run:
                audit.require_key(s)  # what leaves for the ledger must reach the audit trail: refuse first
        if conn_id is None:
            return UndoReport(summary, "preview" if dry_run else "nothing_to_do")
        with self._lock(f"post:{conn_id}"):
            with self._db.session() as s:
                rows = scope_rows(s, run_id)
            ledger = self._connections.connector(conn_id) if rows else None
            seen = {r.id: self._read(ledger, r) for r in rows} if ledger is not None else {}
            report = self._report(summary, run_id, rows, seen, force)
            if dry_run:
                report.outcome = "preview"
                return report
            if report.edited and not force and not any(r.status is OutboxStatus.VOID_PENDING for r in rows):
                report.outcome = "refused"
                return report
            posted = [r for r in rows if r.status is OutboxStatus.POSTED]
            if posted and approval is None and self._needs_approval(run.organization_id):
                return self._request(actor, run.organization_id, summary, report, force)
            undo_run = self._start(actor, run_id, run.organization_id, posted, seen, approval) if rows else None
            if ledger is not None and undo_run is not None:
                self._take_back(actor, ledger, run_id, undo_run, seen, force, report)
        written, unwritten = self._write_back(org, run_id)
        report.counts.update(written_back=written, writeback_failed=unwritten)
        with self._db.session() as s:
            report.run = load_run(s, run_id)[2]
        failed = report.counts.get("failed", 0) + unwritten
        report.outcome = "partial" if failed else ("done" if rows or written else "nothing_to_do")
        if undo_run is not None:
            self._finish(actor, undo_run, report)
        return report

    # --- step 1: read and compare ----------------------------------------------------------------
    @staticmethod
    def _read(ledger: LedgerPlatform, row: OutboxDocument) -> _Seen:
        try:
            remote = ledger.document(row.doc_type, row.remote_id or "")
        except NeedsReconnect:
            raise
        except AppError as err:
            if err.platform_code in ledger.gone_codes:
                return _Seen(row.id, None, "deleted", "not in the ledger any more")
            return _Seen(row.id, None, "unreadable", err.user_message())
        view = ledger.profile.view(row.doc_type, remote.raw)
        if view.status in ("voided", "deleted"):
            return _Seen(row.id, view, view.status, f"already {view.status} in the ledger")
        fields = edited_fields(posted_doc(row), view)
        if fields or row.remote_state == "edited":
            what = ", ".join(fields) if fields else "seen edited by the ledger pull"
            return _Seen(row.id, view, "edited", f"edited in the ledger since it was posted ({what})")
        moved = (view.sync_token is not None and row.sync_token is not None and view.sync_token != row.sync_token)
        if moved:
            return _Seen(row.id, view, "changed", f"version {row.sync_token} → {view.sync_token} in the ledger, "
                                                  "amounts as posted")
        return _Seen(row.id, view, "active")

    def _report(self, summary: RunSummary, run_id: int, rows: list[OutboxDocument], seen: dict[int, _Seen],
                force: bool) -> UndoReport:
        with self._db.session() as s:
            rmas = dict(s.execute(sa.select(Return.id, Return.rma_number).where(
                Return.id.in_({r.return_id for r in rows if r.return_id is not None}))).all())
        docs: list[RunDocument] = []
        for r in rows:
            seen_r = seen.get(r.id)
            state = seen_r.ledger if seen_r else None
            verb = None if state in ("voided", "deleted") else platform_for(r.platform).take_back_verb(r.doc_type)
            if state == "edited" and not force:
                verb = None
            rma = rmas.get(r.return_id) if r.return_id is not None else None
            docs.append(document(r, rma, in_run=r.run_id == run_id, action=verb, ledger=state,
                                 note=seen_r.note if seen_r else None))
        counts = {"documents": len(rows), "edited": sum(1 for d in docs if d.ledger == "edited"),
                  "to_void": sum(1 for d in docs if d.action == "void"),
                  "to_delete": sum(1 for d in docs if d.action == "delete")}
        return UndoReport(summary, "preview", docs, counts)

    # --- step 2: maker-checker -------------------------------------------------------------------
    def _needs_approval(self, org_id: int | None) -> bool:
        if org_id is None:
            return False
        with self._db.session() as s:
            return approvals.policy(s, org_id).needs(approvals.ApprovalKind.UNDO_RUN)

    def _request(self, actor: Actor, org_id: int | None, summary: RunSummary, report: UndoReport,
                 force: bool) -> UndoReport:
        assert org_id is not None
        what = f"Undo sync run {summary.id}: take back {len(report.documents)} document(s)" + (
            f", {len(report.edited)} edited in the ledger since" if report.edited else "")
        with self._db.write_session() as s:
            req = approvals.request(s, self._clock, actor, org_id, approvals.ApprovalKind.UNDO_RUN,
                                    f"run:{summary.id}", what, {"run_id": summary.id, "force": force})
            req_id = req.id
        self._emit(approvals.EVENT_REQUESTED, f"Undoing run {summary.id} waits for a second person's approval "
                   f"(request {req_id})", summary.org, run=summary.id, approval=req_id)
        report.outcome, report.approval = "awaiting_approval", req_id
        return report

    # --- step 3: the intent ----------------------------------------------------------------------
    def _start(self, actor: Actor, run_id: int, org_id: int | None, posted: list[OutboxDocument],
               seen: dict[int, _Seen], approval: tuple[int, str] | None) -> int:
        now = self._clock.now()
        with self._db.write_session() as s:
            if approval is not None:
                approvals.decide(s, self._clock, actor, approval[0], approval[1], approve=True,
                                 kind=approvals.ApprovalKind.UNDO_RUN)
            undo = SyncRun(organization_id=org_id, kind="undo", trigger="manual", started_at=now,
                           status=SyncRunStatus.RUNNING, counts={"of_run": run_id})
            s.add(undo)
            s.flush()
            for row in posted:
                live = s.get(OutboxDocument, row.id)
                if live is not None and live.status is OutboxStatus.POSTED:
                    outbox.request_void(live, now=now, actor=actor.username, undo=run_id)
            edited = sorted(k for k, v in seen.items() if v.ledger == "edited")
            audit.append(s, self._clock, actor=actor.username, action="run.undo_started", target=f"run {run_id}",
                         organization_id=org_id,
                         details={"run_id": run_id, "undo_run": undo.id, "documents": len(seen),
                                  "approval": approval[0] if approval else None, "edited_rows": edited})
            return undo.id

    # --- step 4 and 5: take back, give the returns back ------------------------------------------
    def _take_back(self, actor: Actor, ledger: LedgerPlatform, run_id: int, undo_run: int, seen: dict[int, _Seen],
                   force: bool, report: UndoReport) -> None:
        with self._db.session() as s:
            rows = [r for r in scope_rows(s, run_id) if r.status is OutboxStatus.VOID_PENDING]
        counts: dict[str, int] = defaultdict(int)
        held: set[str] = set()  # documents a dependent of which is still in the ledger (Xero: paid credit notes)
        for row in rows:
            if row.idempotency_key in held:
                err_held = NeedsPersonError(f"{row.doc_type} {row.remote_number or row.remote_id} is still paid or "
                                            "applied by a document that was not taken back; it waits for that one")
                outcome = self._settle(actor, row.id, run_id, None, err_held, _Seen(row.id, None, "active"))
                counts[outcome] += 1
                if row.depends_on:
                    held.add(row.depends_on)
                continue
            look = seen.get(row.id)
            if look is None or look.ledger == "unreadable":
                look = self._read(ledger, row)
            how: str | None = None
            err: AppError | None = None
            if look.ledger in ("voided", "deleted"):
                how = f"already_{look.ledger}"
            elif look.ledger == "unreadable":
                err = NeedsPersonError(look.note or "the ledger could not be read")
            elif look.ledger == "edited" and not force:
                how = "kept"
            else:
                version = look.view.sync_token if look.view else None
                try:
                    how = ledger.take_back(row.doc_type, row.remote_id or "", version,
                                           f"u{undo_run}-{row.idempotency_key}-{version or ''}")
                except NeedsReconnect:
                    raise
                except AppError as exc:
                    err = exc
            outcome = self._settle(actor, row.id, run_id, how, err, look)
            counts[outcome] += 1
            if outcome in ("failed", "kept") and row.depends_on:
                held.add(row.depends_on)
        report.counts.update(counts)
        report.documents = [replace(d, state=self._state(d.key)) for d in report.documents]

    def _state(self, key: str) -> str:
        with self._db.session() as s:
            status = s.scalar(sa.select(OutboxDocument.status).where(OutboxDocument.idempotency_key == key))
            return OutboxStatus(status).value if status is not None else "withdrawn"

    def _settle(self, actor: Actor, row_id: int, run_id: int, how: str | None, err: AppError | None,
                look: _Seen) -> str:
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.get(OutboxDocument, row_id)
            if row is None or row.status is not OutboxStatus.VOID_PENDING:
                return "skipped"
            if err is not None:
                outbox.note_void_problem(row, err, now=now)
                return "failed"
            assert how is not None
            if how == "kept":
                outbox.cancel_void(row, look.note or "edited in the ledger", now=now, actor=actor.username,
                                   undo=run_id)
                return "kept"
            outbox.settle_voided(row, how, now=now, actor=actor.username, undo=run_id)
            s.flush()
            if row.return_id is not None:
                self._reopen(s, row.return_id, run_id, actor)
            return how

    def _reopen(self, s: Any, return_id: int, run_id: int, actor: Actor) -> None:
        """The revision's last document is taken back: a new posting round, ready to post again."""
        left = s.scalar(sa.select(sa.func.count()).select_from(OutboxDocument).where(
            OutboxDocument.return_id == return_id, OutboxDocument.status.in_(
                (OutboxStatus.POSTED, OutboxStatus.VOID_PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.UNCERTAIN))))
        ret = s.get(Return, return_id)
        if left or ret is None:
            return
        newer = s.scalar(sa.select(sa.func.count()).select_from(Return).where(
            Return.organization_id == ret.organization_id, Return.rms_id == ret.rms_id,
            Return.revision > ret.revision))
        before = ret.sync_status
        ret.posting_round = (ret.posting_round or 0) + 1
        ret.sync_status = ReturnSyncStatus.SUPERSEDED if newer else ReturnSyncStatus.NEW
        ret.updated_at = self._clock.now()
        audit.append(s, self._clock, actor=actor.username, action="return.reopened", target=ret.rma_number,
                     organization_id=ret.organization_id,
                     details={"revision": ret.revision, "undo_of_run": run_id, "posting_round": ret.posting_round,
                              "from": before.value, "to": ret.sync_status.value})

    # --- the RMS ---------------------------------------------------------------------------------
    def _write_back(self, org: str | None, run_id: int) -> tuple[int, int]:
        """Tell the RMS, per revision, that the run's documents were taken back: (sent, failed)."""
        client = self._rms_for(org) if org else None
        if client is None or org is None:
            return 0, 0
        with self._db.session() as s:
            rows = s.execute(sa.select(OutboxDocument, Return, LedgerConnection.remote_id)
                             .join(Return, Return.id == OutboxDocument.return_id)
                             .outerjoin(LedgerConnection, LedgerConnection.id == OutboxDocument.connection_id)
                             .where(OutboxDocument.status == OutboxStatus.VOIDED,
                                    OutboxDocument.written_back_at.is_(None),
                                    OutboxDocument.return_id.in_(sa.select(OutboxDocument.return_id)
                                                                 .where(OutboxDocument.run_id == run_id)))
                             .order_by(OutboxDocument.id)).all()
            # A revision is told once, when all of it is taken back (a body is never sent part-way:
            # the same key must always carry the same body).
            unfinished = set(s.scalars(sa.select(OutboxDocument.return_id).where(
                OutboxDocument.return_id.in_({r.return_id for r, _, _ in rows}),
                sa.or_(OutboxDocument.status == OutboxStatus.VOID_PENDING,
                       sa.and_(OutboxDocument.status == OutboxStatus.POSTED, OutboxDocument.run_id == run_id)))))
        by_return: dict[int, list[tuple[OutboxDocument, Return, str | None]]] = defaultdict(list)
        for row, ret, company in rows:
            if _undo_of(row) == run_id and ret.id not in unfinished:
                by_return[ret.id].append((row, ret, company))
        stage = WriteBackService(self._db, self._bus, self._clock, lambda _org: client)
        sent = failed = 0
        for items in by_return.values():
            outcome = stage.send_change(client, self._change(org, run_id, items))
            if outcome in (ChangeOutcome.FAILED, ChangeOutcome.HELD):
                failed += 1
            else:
                sent += 1
        return sent, failed

    def _change(self, org: str, run_id: int, items: list[tuple[OutboxDocument, Return, str | None]]
                ) -> ChangeWriteBack:
        ret = items[0][1]
        ids = [r.id for r, _, _ in items]
        docs = []
        for r, _, _ in items:
            doc: dict[str, Any] = {"type": r.doc_type, "id": r.remote_id or ""}
            if r.remote_number:
                doc["number"] = r.remote_number
            if r.total is not None:
                doc.update(total=format(r.total.amount, "f"), currency=r.total.currency)
            docs.append(doc)
        at = max(str((r.last_error or {}).get("undo", {}).get("at") or "") for r, _, _ in items) or None
        body: dict[str, Any] = {"revision": ret.revision, "status": "voided", "platform": items[0][0].platform.value,
                                "documents": docs, "occurred_at": at,
                                "message": f"Sync run {run_id} was undone: these documents were taken back in the "
                                           "ledger; the return will be posted again"}
        if items[0][2]:
            body["company_id"] = items[0][2]

        def still_due(s: Any) -> bool:
            return bool(s.scalar(sa.select(sa.func.count()).select_from(OutboxDocument).where(
                OutboxDocument.id.in_(ids), OutboxDocument.written_back_at.is_(None))))

        def settle(s: Any) -> None:
            outbox.mark_written_back(s, ids, now=self._clock.now(), rma=ret.rma_number, revision=ret.revision,
                                     replayed=False)

        return ChangeWriteBack(ret.id, org, ret.rms_id, ret.revision, "voided", (f"undo-run-{run_id}",), body,
                               still_due=still_due, settle=settle, rma=ret.rma_number,
                               message=f"Told the RMS that {ret.rma_number}'s documents of run {run_id} were "
                                       "taken back")

    # --- the record ------------------------------------------------------------------------------
    def _finish(self, actor: Actor, undo_run: int, report: UndoReport) -> None:
        with self._db.write_session() as s:
            undo = s.get(SyncRun, undo_run)
            if undo is None:
                return
            undo.finished_at = self._clock.now()
            undo.status = SyncRunStatus.PARTIAL if report.outcome == "partial" else SyncRunStatus.SUCCEEDED
            undo.counts = {"of_run": report.run.id, **report.counts}
            audit.append(s, self._clock, actor=actor.username, action="run.undone", target=f"run {report.run.id}",
                         organization_id=undo.organization_id,
                         details={"undo_run": undo_run, "outcome": report.outcome, **report.counts})
        report.undo_run = undo_run
        self._emit(EVENT_UNDONE, f"Run {report.run.id} undone ({report.outcome}): "
                   + ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()) if v), report.run.org,
                   run=report.run.id, undo_run=undo_run, outcome=report.outcome)

    def _emit(self, kind: str, message: str, org: str | None, **details: Any) -> None:
        self._bus.emit(kind, Severity.INFO, message, org=org, details=details)


def _undo_of(row: OutboxDocument) -> int | None:
    undo = (row.last_error or {}).get("undo")
    return int(undo["run"]) if isinstance(undo, dict) and isinstance(undo.get("run"), int) else None
