"""Typed events and a thread-safe, Qt-free bus that services report progress and problems on.

Every step of the pipeline (ingest, pre-flight, post, pull, reconcile…) publishes an
:class:`Event`. Subscribers are plain callables: the database sink writes them to the event log,
the alerting service mails the serious ones, and ``views`` adapts them into Qt signals — the bus
itself knows nothing of Qt, threads or databases (DESIGN.md §3, §11).

Delivery is synchronous on the publishing thread, to a snapshot of the subscribers taken when
:meth:`EventBus.publish` starts. A GUI subscriber must therefore only hand the event over (e.g.
emit a queued Qt signal) and return; it must not touch widgets.

Nothing secret may reach an event: :func:`redact` masks values under secret-looking keys and
credentials inside strings, and :class:`Event` runs its ``details`` and texts through it.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from desktop.services.core.clock import Clock, SystemClock, as_utc
from desktop.services.core.errors import AppError, ErrorKind, TransientError
from desktop.services.core.redaction import REDACTED, is_secret_key, redact, redact_flat, redact_text

__all__ = [
    "REDACTED",
    "Event",
    "EventBus",
    "EventKind",
    "Severity",
    "Subscriber",
    "is_secret_key",
    "json_safe",
    "redact",
    "redact_text",
]

logger = logging.getLogger(__name__)

# --- severity -------------------------------------------------------------------------------

_RANKS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}


class Severity(StrEnum):
    """How much an event matters. Ordered by weight (``DEBUG < INFO < … < CRITICAL``), not by
    spelling: the comparison operators are overridden because alphabetical order would be a trap."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """The matching :mod:`logging` level number (10…50), for ordering and for log bridges."""
        return _RANKS[self.value]

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Case-insensitive lookup (``"Warning"`` → ``WARNING``)."""
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ValueError(f"unknown severity {value!r}") from None

    @classmethod
    def from_logging_level(cls, level: int) -> Severity:
        """The highest severity whose rank is ≤ ``level`` (``logging.WARNING`` → ``WARNING``)."""
        best = cls.DEBUG
        for sev in cls:
            if sev.rank <= level:
                best = sev
        return best

    def at_least(self, other: Severity | str) -> bool:
        return self.rank >= Severity.parse(other).rank

    def _other_rank(self, other: object) -> int | None:
        if isinstance(other, Severity):
            return other.rank
        if isinstance(other, str) and other.lower() in _RANKS:
            return _RANKS[other.lower()]
        return None

    def __lt__(self, other: object) -> bool:
        r = self._other_rank(other)
        if r is None:
            return NotImplemented
        return self.rank < r

    def __le__(self, other: object) -> bool:
        r = self._other_rank(other)
        if r is None:
            return NotImplemented
        return self.rank <= r

    def __gt__(self, other: object) -> bool:
        r = self._other_rank(other)
        if r is None:
            return NotImplemented
        return self.rank > r

    def __ge__(self, other: object) -> bool:
        r = self._other_rank(other)
        if r is None:
            return NotImplemented
        return self.rank >= r


# --- the vocabulary -------------------------------------------------------------------------


class EventKind(StrEnum):
    """The known event kinds: one vocabulary for services, the event log, alerts and the GUI.

    Kinds are dotted ``subject.what_happened``. Code may publish kinds not listed here (the bus
    accepts any well-formed kind), but anything the GUI or alerts react to belongs here.
    """

    # the application itself
    APP_STARTED = "app.started"
    APP_STOPPING = "app.stopping"
    # RMS → local store
    RETURN_INGESTED = "return.ingested"
    RETURN_UNCHANGED = "return.unchanged"  # same (org, RMS id, revision) seen again: no-op
    RETURN_REJECTED = "return.rejected"  # payload unreadable; raw kept for a person
    RETURN_QUARANTINED = "return.quarantined"  # read, but invalid: held with specific reasons
    RETURN_PAGE_SET_ASIDE = "return.page_set_aside"  # a feed page the RMS never sent readably: stepped over
    RETURN_PAGE_RECOVERED = "return.page_recovered"  # a set-aside window read again (``rms repull``)
    # pre-flight and the outbox
    DOCUMENT_PLANNED = "document.planned"
    DOCUMENT_QUARANTINED = "document.quarantined"
    DOCUMENT_RELEASED = "document.released"  # a person fixed the cause; back to pending
    DOCUMENT_POSTED = "document.posted"
    DOCUMENT_FAILED = "document.failed"
    DOCUMENT_RETRY_SCHEDULED = "document.retry_scheduled"
    DOCUMENT_RETRIED = "document.retried"  # a person pressed retry
    DOCUMENT_UNCERTAIN = "document.uncertain"
    DOCUMENT_UNCERTAIN_RESOLVED = "document.uncertain_resolved"  # details: adopted | resent
    DOCUMENT_DUPLICATE_PREVENTED = "document.duplicate_prevented"
    DOCUMENT_ENTERED_MANUALLY = "document.entered_manually"
    DOCUMENT_HELD = "document.held"  # waiting for the ledger's metered allowance to reset (not failed)
    # ledger → local (CDC / If-Modified-Since / webhooks)
    CHANGE_PULLED = "change.pulled"
    CHANGE_FEED_INCOMPLETE = "change.feed_incomplete"  # capped, or a window missed: reconciliation catches up
    DOCUMENT_EDITED_IN_LEDGER = "document.edited_in_ledger"
    DOCUMENT_VOIDED_IN_LEDGER = "document.voided_in_ledger"
    DOCUMENT_DELETED_IN_LEDGER = "document.deleted_in_ledger"
    REFUND_PAID_IN_LEDGER = "document.refund_paid_in_ledger"
    # local → RMS
    WRITEBACK_SUCCEEDED = "writeback.succeeded"
    WRITEBACK_FAILED = "writeback.failed"
    # runs
    SYNC_STARTED = "sync.started"
    SYNC_PROGRESS = "sync.progress"
    SYNC_FINISHED = "sync.finished"
    SYNC_FAILED = "sync.failed"
    # connections
    CONNECTION_ESTABLISHED = "connection.established"
    CONNECTION_TOKEN_REFRESHED = "connection.token_refreshed"  # noqa: S105 - a kind, not a secret
    CONNECTION_NEEDS_RECONNECT = "connection.needs_reconnect"
    CONNECTION_DISCONNECTED = "connection.disconnected"
    CONNECTION_THROTTLED = "connection.throttled"
    CONNECTION_RATE_BUDGET_LOW = "connection.rate_budget_low"  # the platform's daily allowance runs low
    CONNECTION_USAGE_HIGH = "connection.usage_high"  # 80 % of the tier's metered allowance used
    CONNECTION_ALLOWANCE_USED_UP = "connection.allowance_used_up"  # metered calls refused until the reset
    CONNECTION_ALLOWANCE_RESTORED = "connection.allowance_restored"  # reset, or a metered call succeeded
    REFERENCE_DATA_REFRESHED = "connection.reference_data_refreshed"  # chart of accounts, tax codes
    # mapping
    MAPPING_CHANGED = "mapping.changed"
    MAPPING_IMPORTED = "mapping.imported"
    MAPPING_INVALID = "mapping.invalid"
    # reconciliation
    RECONCILIATION_STARTED = "reconciliation.started"
    RECONCILIATION_FINISHED = "reconciliation.finished"
    RECONCILIATION_VARIANCE = "reconciliation.variance"
    RECONCILIATION_VARIANCE_RESOLVED = "reconciliation.variance_resolved"

    ALERT_RAISED = "alert.raised"                    # the tray shows these
    ALERT_DELIVERY_FAILED = "alert.delivery_failed"  # an email or webhook could not be delivered

    @classmethod
    def is_known(cls, kind: str) -> bool:
        return kind in cls._value2member_map_


_KIND_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")

def json_safe(obj: Any) -> Any:
    """Convert to what :func:`json.dumps` writes losslessly: Decimal → str (never float),
    datetime/date → ISO 8601, enums → their value, Money-like objects → ``{amount, currency}``,
    tuples/sets → lists, mapping keys → str; anything else → ``repr``.

    Floats become their ``repr`` text too: the event log's exact-JSON column refuses floats
    (money is never a float), and text keeps every digit the float had.
    """
    if obj is None or isinstance(obj, bool | int | str):
        return obj.value if isinstance(obj, Enum) else obj
    if isinstance(obj, Enum):
        return json_safe(obj.value)
    if isinstance(obj, float):
        return str(obj)  # never lose or invent digits; floats should not be here anyway
    if isinstance(obj, Decimal):
        return format(obj, "f") if obj.is_finite() else str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [json_safe(v) for v in obj]
    amount, currency = getattr(obj, "amount", None), getattr(obj, "currency", None)
    if isinstance(amount, Decimal) and isinstance(currency, str):
        return {"amount": format(amount, "f"), "currency": currency}
    if isinstance(obj, bytes):
        return f"<{len(obj)} bytes>"
    return repr(obj)


# --- events ---------------------------------------------------------------------------------

_SEVERITY_BY_ERROR_KIND = {
    ErrorKind.TRANSIENT: Severity.WARNING,
    ErrorKind.NEEDS_PERSON: Severity.ERROR,
    ErrorKind.FATAL: Severity.CRITICAL,
}


def _new_event_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Event:
    """One thing that happened, for a person and for the event log.

    The field names are the event-log schema (``store/event_sink.py`` writes them as they are).
    On construction ``kind`` is checked (dotted lower-case), ``severity`` is coerced from text,
    ``occurred_at`` must be aware and is normalised to UTC, texts are redacted, and ``details``
    becomes a redacted, JSON-safe ``dict`` copy (treat it as read-only).
    """

    kind: str
    severity: Severity
    message: str
    occurred_at: datetime
    org: str | None = None
    rma: str | None = None
    document_key: str | None = None
    platform: str | None = None
    platform_code: str | None = None
    platform_message: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)
    event_id: str = field(default_factory=_new_event_id)

    def __post_init__(self) -> None:
        kind = str(self.kind)
        if not _KIND_RE.fullmatch(kind):
            raise ValueError(f"event kind must be dotted lower-case like 'document.posted', got {kind!r}")
        set_ = object.__setattr__
        set_(self, "kind", kind)
        set_(self, "severity", Severity.parse(self.severity))
        set_(self, "occurred_at", as_utc(self.occurred_at))
        if not isinstance(self.message, str):
            raise TypeError("event message must be a string")
        set_(self, "message", redact_text(self.message))
        if self.platform_message is not None:
            set_(self, "platform_message", redact_text(self.platform_message))
        if not isinstance(self.details, Mapping):
            raise TypeError(f"event details must be a mapping, not {type(self.details).__name__}")
        flat = redact_flat(self.details)  # the usual flat details: what the walk below gives, in one pass
        set_(self, "details", flat if flat is not None else json_safe(redact(self.details)))

    @classmethod
    def from_error(
        cls,
        kind: str,
        err: AppError,
        clock: Clock,
        *,
        org: str | None = None,
        rma: str | None = None,
        document_key: str | None = None,
        details: Mapping[str, Any] | None = None,
        severity: Severity | None = None,
    ) -> Event:
        """An event describing ``err``: its message (plus the action a person must take), the
        platform's own code and message, and severity from the error's kind (transient →
        WARNING, needs a person → ERROR, fatal → CRITICAL) unless ``severity`` overrides it."""
        message = f"{err.message} — {err.action}" if err.action else err.message
        info: dict[str, Any] = {"error_kind": err.kind.value, "error_type": type(err).__name__}
        if err.action:
            info["action"] = err.action
        if isinstance(err, TransientError) and err.retry_after_s is not None:
            info["retry_after_s"] = err.retry_after_s
        info.update(details or {})
        return cls(
            kind=kind,
            severity=severity or _SEVERITY_BY_ERROR_KIND[err.kind],
            message=message,
            occurred_at=clock.now(),
            org=org,
            rma=rma,
            document_key=document_key,
            platform=err.platform,
            platform_code=err.platform_code,
            platform_message=err.platform_message,
            details=info,
        )

    def to_dict(self) -> dict[str, Any]:
        """All fields, JSON-safe (``occurred_at`` as ISO 8601), for sinks and exports."""
        return {
            "event_id": self.event_id, "kind": self.kind, "severity": self.severity.value,
            "message": self.message, "occurred_at": self.occurred_at.isoformat(), "org": self.org,
            "rma": self.rma, "document_key": self.document_key, "platform": self.platform,
            "platform_code": self.platform_code, "platform_message": self.platform_message,
            "details": dict(self.details),
        }


# --- the bus --------------------------------------------------------------------------------

Subscriber = Callable[[Event], None]


class _Subscription:
    __slots__ = ("active", "callback", "exact", "min_rank", "prefixes")

    def __init__(self, callback: Subscriber, kinds: Iterable[str] | None,
                 min_severity: Severity | None) -> None:
        self.callback = callback
        self.active = True
        self.min_rank = Severity.parse(min_severity).rank if min_severity is not None else 0
        self.exact: frozenset[str] | None = None
        self.prefixes: tuple[str, ...] = ()
        if kinds is not None:
            if isinstance(kinds, str):
                raise TypeError("kinds must be an iterable of kinds, not one string")
            names = [str(k) for k in kinds]
            if "*" in names:
                return
            self.exact = frozenset(n for n in names if not n.endswith(".*"))
            self.prefixes = tuple(n[:-1] for n in names if n.endswith(".*"))

    def wants(self, event: Event) -> bool:
        if not self.active or event.severity.rank < self.min_rank:
            return False
        if self.exact is None:
            return True
        return event.kind in self.exact or event.kind.startswith(self.prefixes)


class EventBus:
    """Publish/subscribe for :class:`Event`, safe to use from any number of threads.

    Subscribing and unsubscribing replace an immutable tuple under a lock (copy-on-write), so
    :meth:`publish` reads a consistent snapshot without locking and never blocks on a slow
    subscriber of another thread. An unsubscribed callback receives nothing published after
    the unsubscribe call returned (a delivery already in progress on another thread may finish).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._lock = threading.Lock()
        self._subs: tuple[_Subscription, ...] = ()

    @property
    def clock(self) -> Clock:
        return self._clock

    def subscribe(self, callback: Subscriber, *, kinds: Iterable[str] | None = None,
                  min_severity: Severity | None = None) -> Callable[[], None]:
        """Call ``callback(event)`` for matching events; returns an idempotent unsubscribe.

        Args:
            callback: runs on the publishing thread; must be quick and must not block.
            kinds: exact kinds, ``"subject.*"`` prefixes, or ``"*"``; ``None`` means all.
            min_severity: drop events below this severity.
        """
        if not callable(callback):
            raise TypeError("callback must be callable")
        sub = _Subscription(callback, kinds, min_severity)
        with self._lock:
            self._subs = (*self._subs, sub)

        def unsubscribe() -> None:
            with self._lock:
                sub.active = False
                self._subs = tuple(s for s in self._subs if s is not sub)

        return unsubscribe

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def publish(self, event: Event) -> int:
        """Deliver ``event`` to every matching subscriber, in subscription order; returns how many
        received it. A subscriber that raises is logged (ERROR, with traceback) and skipped."""
        if not isinstance(event, Event):
            raise TypeError(f"publish() takes an Event, not {type(event).__name__}")
        delivered = 0
        for sub in self._subs:
            if not sub.wants(event):
                continue
            try:
                sub.callback(event)
            except Exception:
                logger.exception("event subscriber %s failed on %s event %s",
                                  _name(sub.callback), event.kind, event.event_id)
            else:
                delivered += 1
        return delivered

    def emit(
        self,
        kind: str,
        severity: Severity | str,
        message: str,
        *,
        org: str | None = None,
        rma: str | None = None,
        document_key: str | None = None,
        platform: str | None = None,
        platform_code: str | None = None,
        platform_message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Event:
        """Build an event stamped with the bus's clock, publish it, and return it."""
        event = Event(
            kind=kind, severity=Severity.parse(severity), message=message,
            occurred_at=self._clock.now(), org=org, rma=rma, document_key=document_key,
            platform=platform, platform_code=platform_code, platform_message=platform_message,
            details=details or {},
        )
        self.publish(event)
        return event

    def emit_error(self, kind: str, err: AppError, *, org: str | None = None, rma: str | None = None,
                   document_key: str | None = None, details: Mapping[str, Any] | None = None,
                   severity: Severity | None = None) -> Event:
        """:meth:`Event.from_error` stamped with the bus's clock, published, and returned."""
        event = Event.from_error(kind, err, self._clock, org=org, rma=rma, document_key=document_key,
                                 details=details, severity=severity)
        self.publish(event)
        return event


def _name(callback: Callable[..., Any]) -> str:
    return getattr(callback, "__qualname__", None) or type(callback).__qualname__
