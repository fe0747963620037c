"""What a person does about a problem in the error log: retry the document, or resolve it with a note.

The live error log (``views/log_dock.py``) shows events; this service is what its Retry, Resolve
and details actions call. Both changes require ``Action.RESOLVE_ERRORS`` — a viewer pressing
Retry through any door is refused here — and both are audited.

- **Retry** puts a failed or quarantined outbox document back to pending, due now, through the
  outbox's own :func:`desktop.services.pipeline.outbox.retry`. An *uncertain* document is refused
  (it may already be in the ledger, and only the poster's look-up-by-key may decide to re-send),
  and so is one *awaiting adoption* (entered in the ledger by hand).
- **Resolve** marks the event handled with a required note (``event_log.resolved_*``); the event
  itself never changes.
- :meth:`ErrorsQueue.document_context` loads what the details panel shows beyond the event: the
  document's state and the (redacted) request we send and the last error the ledger returned.
- :func:`explain` turns an event (and that context) into what a person reads: what happened, the
  platform's own code and words, what to do, and the technical record behind a disclosure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.errors import ConfigurationError
from desktop.services.core.events import Event, EventBus, EventKind, Severity, json_safe, redact
from desktop.services.pipeline import outbox
from desktop.services.store.db import Database
from desktop.services.store.event_sink import as_event
from desktop.services.store.models import EventLog, Organization, OutboxDocument, OutboxStatus, Return

__all__ = ["DocumentContext", "ErrorsQueue", "Explanation", "Problem", "Resolution", "explain"]

_RETRYABLE = tuple(outbox.TRANSITIONS["retry"])


@dataclass(frozen=True)
class Resolution:
    """Who marked an event handled, when, and why."""

    event_id: str
    by: str
    at: datetime
    note: str


@dataclass(frozen=True)
class DocumentContext:
    """The outbox document an event is about, redacted and safe to show."""

    document_key: str
    status: str
    doc_type: str
    attempts: int
    remote_id: str | None
    request: dict[str, Any]
    last_error: dict[str, Any] | None
    updated_at: datetime

    @property
    def retryable(self) -> bool:
        return self.status in {s.value for s in _RETRYABLE}


@dataclass(frozen=True)
class Problem:
    """One specific reason an event names (pre-flight's, or the RMS reader's)."""

    code: str
    message: str
    field: str | None = None

    @property
    def what(self) -> str:
        """The message without its " — what to do" tail (:func:`explain` says that once)."""
        return self.message.rsplit(" — ", 1)[0]


@dataclass(frozen=True)
class Explanation:
    """An event as a person reads it; ``technical`` is for the disclosure (already redacted)."""

    what_happened: str
    what_to_do: str
    platform: str | None = None
    platform_code: str | None = None
    platform_message: str | None = None
    problems: tuple[Problem, ...] = ()
    technical: dict[str, Any] = field(default_factory=dict)


#: What to do, by event kind (the most specific prefix wins), when the event does not say itself.
_WHAT_TO_DO: tuple[tuple[str, str], ...] = (
    ("document.quarantined", "Fix what pre-flight names — the mapping (Mappings page) or the return in the RMS — "
                             "then Retry. Nothing reached the ledger."),
    ("return.quarantined", "Correct the return in the RMS (or the mapping it needs); it is read again when it "
                           "changes. Nothing reached the ledger."),
    ("return.rejected", "Correct the return in the RMS; it is read again when it changes."),
    ("document.failed", "Nothing yet: the sync tries again by itself. If it keeps failing, read the ledger's answer "
                        "below and open the return."),
    ("document.uncertain", "Nothing: before any re-send the sync looks the document up in the ledger by its key, "
                           "so it is never posted twice."),
    ("reconciliation.variance", "Open the return and compare it with the ledger on the Reconciliation page; correct "
                                "the ledger, or accept the variance there with a note."),
    ("connection.needs_reconnect", "Sign in again on the Connections page (Reconnect)."),
    ("connection.", "See the connection on the Connections page."),
    ("writeback.failed", "Nothing yet: telling the RMS is retried by itself."),
    ("sync.failed", "Check the connection on the Connections page; the next scheduled run tries again."),
    ("mapping.invalid", "Open the mapping on the Mappings page and fix the rules it names."),
)


def explain(event: Event, context: DocumentContext | None = None) -> Explanation:
    """What happened, the platform's code and words, what to do, and the record behind it.

    The event's own advice wins (an error's ``action``, or the " — …" advice in each problem's
    message); then the advice for its kind; then a default by severity.
    """
    details = dict(event.details or {})
    problems = tuple(_problems(details))
    action = str(details.get("action") or "").strip()
    what = event.message.removesuffix(f" — {action}") if action else event.message
    advice = [action] if action else []
    for p in problems:
        if " — " in p.message and p.message.rsplit(" — ", 1)[1] not in advice:
            advice.append(p.message.rsplit(" — ", 1)[1])
    if not advice:
        advice = [next((text for prefix, text in _WHAT_TO_DO if event.kind.startswith(prefix)), "")]
    if not advice[0]:
        advice = ["Open the return to see its documents and history." if event.rma and event.severity.rank >=
                  Severity.WARNING.rank else "Nothing: this is for information."]
    for a in advice:
        what = what.removesuffix(f" — {a}")
    last = context.last_error if context is not None else None
    technical: dict[str, Any] = {}
    if details:
        technical["event"] = details
    if last:
        technical["last response"] = last
    if context is not None:
        technical["request"] = context.request
    return Explanation(
        what_happened=what, what_to_do=" ".join(a[:1].upper() + a[1:] for a in advice),
        platform=event.platform or (str(last.get("platform")) if last and last.get("platform") else None),
        platform_code=event.platform_code or (str(last["platform_code"]) if last and last.get("platform_code")
                                              else None),
        platform_message=event.platform_message or (str(last["platform_message"]) if last and
                                                    last.get("platform_message") else None),
        problems=problems, technical=technical)


def _problems(details: dict[str, Any]) -> list[Problem]:
    raw = details.get("problems")
    out = []
    if isinstance(raw, list):
        for p in raw:
            if isinstance(p, dict) and p.get("message"):
                out.append(Problem(str(p.get("code") or ""), str(p["message"]), str(p["field"]) if p.get("field")
                                   else None))
    return out


class ErrorsQueue:
    """Retry and resolve from the error log; permissions checked, changes audited."""

    def __init__(self, db: Database, clock: Clock, bus: EventBus | None = None) -> None:
        self._db = db
        self._clock = clock
        self._bus = bus

    # -- reading -----------------------------------------------------------------------------------
    def history(self, limit: int = 5000) -> tuple[list[Event], dict[str, Resolution]]:
        """The newest ``limit`` events (oldest first, as the pane lists them) and their resolutions."""
        with self._db.session() as s:
            rows = list(s.scalars(sa.select(EventLog).order_by(EventLog.id.desc()).limit(limit)))
        rows.reverse()
        resolutions = {r.event_id: _resolution(r) for r in rows if r.resolved_at is not None}
        return [as_event(r) for r in rows], resolutions

    def resolutions(self, event_ids: Iterable[str]) -> dict[str, Resolution]:
        ids = list(event_ids)
        out: dict[str, Resolution] = {}
        with self._db.session() as s:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for row in s.scalars(sa.select(EventLog).where(EventLog.event_id.in_(chunk),
                                                               EventLog.resolved_at.is_not(None))):
                    out[row.event_id] = _resolution(row)
        return out

    def document_context(self, document_key: str) -> DocumentContext | None:
        """The outbox row for ``document_key`` (an idempotency key), or None if there is none."""
        with self._db.session() as s:
            row = s.scalar(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == document_key))
            if row is None:
                return None
            return DocumentContext(
                document_key=row.idempotency_key, status=OutboxStatus(row.status).value, doc_type=row.doc_type,
                attempts=row.attempts, remote_id=row.remote_id, request=json_safe(redact(dict(row.payload))),
                last_error=json_safe(redact(dict(row.last_error))) if row.last_error else None,
                updated_at=row.updated_at)

    # -- acting --------------------------------------------------------------------------------------
    def retry(self, actor: Actor, document_key: str) -> str:
        """Release a failed or quarantined document to be posted again now; returns its new status.

        The one Retry of the app (the error log and the Returns page both call it). The outbox
        decides whether the move is legal: it refuses an uncertain document and one awaiting
        adoption (a person entered it in the ledger by hand; sending it would post it twice).
        """
        actor.require(Action.RESOLVE_ERRORS)
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.scalar(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == document_key))
            if row is None:
                raise ConfigurationError(f"There is no document {document_key} in the outbox",
                                         action="it may have been re-planned; look for the return's newest event")
            before = outbox.retry(row, now=now)
            audit.append(s, self._clock, actor=actor.username, action="document.retried", target=document_key,
                         organization_id=row.organization_id,
                         details={"from": before.value, "doc_type": row.doc_type, "attempts": row.attempts})
            org_id = row.organization_id
            rma = s.scalar(sa.select(Return.rma_number).where(Return.id == row.return_id)) if row.return_id else None
        if self._bus is not None:
            self._bus.emit(EventKind.DOCUMENT_RETRIED, Severity.INFO, f"{actor.username} asked to post it again",
                           rma=rma, document_key=document_key,
                           details={"by": actor.username, "organization_id": org_id})
        return OutboxStatus.PENDING.value

    def resolve(self, actor: Actor, event_ids: Sequence[str], note: str) -> list[Resolution]:
        """Mark events handled with a note (required: the audit trail must say why)."""
        actor.require(Action.RESOLVE_ERRORS)
        note = note.strip()
        if not note:
            raise ConfigurationError("Say how the problem was resolved", action="type a short note")
        if not event_ids:
            return []
        now = self._clock.now()
        done: list[Resolution] = []
        with self._db.write_session() as s:
            rows = list(s.scalars(sa.select(EventLog).where(EventLog.event_id.in_(list(event_ids)))))
            if not rows:
                raise ConfigurationError("Those events are not in the event log yet",
                                         action="wait a moment and try again")
            codes = {r.org for r in rows if r.org}
            org_ids = dict(s.execute(sa.select(Organization.code, Organization.id).where(
                Organization.code.in_(codes))).all()) if codes else {}
            for row in rows:
                row.resolved_at, row.resolved_by, row.resolution_note = now, actor.username, note
                # The target names what a person recognises; the event id stays in the details.
                audit.append(s, self._clock, actor=actor.username, action="error.resolved",
                             target=row.document_key or row.rma or row.event_id,
                             organization_id=org_ids.get(row.org or ""),
                             details={"note": note, "event_id": row.event_id, "kind": row.kind, "org": row.org,
                                      "rma": row.rma, "message": row.message})
                done.append(_resolution(row))
        return done


def _resolution(row: EventLog) -> Resolution:
    assert row.resolved_at is not None
    return Resolution(row.event_id, row.resolved_by or "", row.resolved_at, row.resolution_note or "")
