"""Reconcile one organization and period: load what we intended, read the ledger, compare.

Three sources (issue 7): the RMS — the local mirror, and the RMS API itself on request — our
database (the outbox: what we posted or still owe), and the ledger (what is there now, including
documents carrying our keys that we never posted). Loading uses Core selects of the needed
columns only, so a month of 100,000 returns loads in seconds; the comparison is
:func:`desktop.services.reconcile.compare.compare`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from desktop.services.connections.refcache import item_stock
from desktop.services.core.clock import Clock
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.money import Money, is_known_currency
from desktop.services.core.progress import NO_PROGRESS, OperationProgress, check
from desktop.services.platforms.base import RefKind, RefRecord
from desktop.services.platforms.interface import DocView
from desktop.services.platforms.registry import DEFAULT_PLATFORM, platform_for
from desktop.services.reconcile.bridge import build_totals
from desktop.services.reconcile.compare import CompareResult, compare, not_posted
from desktop.services.reconcile.model import Expected, Period, RmsReturn, VarianceClass, VarianceFinding
from desktop.services.rms.records import NO_CURRENCY
from desktop.services.store.connection_choice import connected_org
from desktop.services.store.db import Database
from desktop.services.store.models import (
    OutboxDocument,
    OutboxStatus,
    RefItem,
    Return,
    ReturnSyncStatus,
    ReturnTaxLine,
)

__all__ = ["LedgerSource", "OrgInfo", "ReconcileEngine", "ReconcileReport"]

#: Roles whose document carries the return's tax (the refund itself); journals and payments carry none.
TAXED_ROLES = frozenset({"credit_memo", "refund_receipt", "credit_note", "sales_receipt", "invoice"})
_OWED = (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.FAILED, OutboxStatus.UNCERTAIN)
_CHUNK = 500
#: The phases a reconciliation reports (``done`` of this many): read, load, look up, compare, RMS API, record.
PHASES = 6


class LedgerSource(Protocol):
    """What the engine reads the ledger through (``LedgerReader``, or a cache of it)."""

    def period(self, period: Period) -> list[DocView]: ...

    def by_id(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DocView | None]: ...


@dataclass(frozen=True)
class OrgInfo:
    id: int
    code: str
    timezone: str
    home_currency: str
    summary_mode: bool
    connection_id: int | None
    platform: str | None


@dataclass
class ReconcileReport:
    """One reconciliation's outcome: variances, totals, and how long it took."""

    org: str
    period: Period
    variances: list[VarianceFinding] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    matched: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def counts(self) -> dict[str, int]:
        out = {c.value: 0 for c in VarianceClass}
        for v in self.variances:
            out[v.variance_class.value] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {"org": self.org, "from": self.period.start.isoformat(), "to": self.period.end.isoformat(),
                "totals": self.totals, "matched": self.matched, "counts": self.counts(),
                "variances": [v.to_json() for v in self.variances]}


def _sent_tax(platform: str, doc_type: str, payload: dict[str, Any] | None, total: Decimal | None) -> Decimal | None:
    """The tax the ledger should hold for the sales document we sent (None: cannot tell).

    Each platform says how (:meth:`PlatformProfile.sent_tax`): the figure the ledger computes or
    the lines pinned. Comparing with this rather than the RMS's per-line tax keeps a deliberate,
    balanced rounding line (total still equal to the RMS refund) from showing as a variance, while
    a tax changed in the ledger still does.
    """
    return platform_for(platform).sent_tax(doc_type, payload, total)


def _rate(platform: str, doc_type: str, payload: dict[str, Any] | None) -> Decimal | None:
    return platform_for(platform).rate_of(doc_type, payload) if payload else None


def _items(platform: str, doc_type: str,
           payload: dict[str, Any] | None) -> tuple[tuple[str, Decimal | None], ...] | None:
    """The quantity per item the lines we sent carry (None: a document without item lines, or no payload)."""
    return platform_for(platform).items_of(doc_type, payload) if payload else None


class ReconcileEngine:
    """Compares RMS ⟷ database ⟷ ledger for one organization and period (see the module docstring).

    Args:
        db: the app's database.
        clock: the injected clock (the grace window, run times).
        ledger_for: the ledger source of a connection id (live: a ``LedgerReader`` over the connector).
        rms_api_for: the RMS API client of an organization, for ``check_rms_api`` (None: not configured).
        grace: how long a queued document may wait before its absence from the ledger is a variance.
    """

    def __init__(self, db: Database, clock: Clock, ledger_for: Callable[[int], LedgerSource], *,
                 rms_api_for: Callable[[str], Any] | None = None, grace: timedelta = timedelta(hours=1)) -> None:
        self._db = db
        self._clock = clock
        self._ledger_for = ledger_for
        self._rms_api_for = rms_api_for
        self.grace = grace

    def org_info(self, org_code: str) -> OrgInfo:
        with self._db.session() as s:
            org, conn = connected_org(s, org_code)
            mode = str((org.settings or {}).get("posting_mode", ""))
            return OrgInfo(org.id, org.code, org.timezone or "UTC", org.home_currency, mode == "daily_summary",
                           conn.id if conn else None, conn.platform.value if conn else None)

    # --- the whole run --------------------------------------------------------------------------
    def reconcile(self, org_code: str, period: Period, *, check_rms_api: bool = False,
                  ledger: LedgerSource | None = None, progress: OperationProgress | None = None) -> ReconcileReport:
        """Every variance of ``org_code`` in ``period`` (ledger read live unless ``ledger`` is given).

        ``progress`` hears each phase (``done`` of :data:`PHASES`); a cancel is honoured between
        phases by raising :class:`~desktop.services.core.progress.OperationCancelled` (nothing is written here)."""
        told = progress if progress is not None else NO_PROGRESS
        stop = f"The reconciliation of {org_code} was stopped on request"

        def phase(n: int, text: str) -> None:
            check(told, stop)
            told.report(n, PHASES, f"{org_code}: {text}")

        started = self._clock.now()
        info = self.org_info(org_code)
        if ledger is None:
            if info.connection_id is None:
                raise NeedsPersonError(f"{org_code} has no working ledger connection",
                                       action="connect (or reconnect) it on the Connections page")
            ledger = self._ledger_for(info.connection_id)
        platform = info.platform or DEFAULT_PLATFORM.value
        phase(0, "reading the ledger's documents for the period…")
        docs = ledger.period(period)
        phase(1, f"{len(docs):,} ledger document{'' if len(docs) == 1 else 's'} read; loading what was posted…")
        expected = self.expected(info, period, platform)
        keys_known = {e.key for e in expected}
        extra_keys = sorted({d.our_key for d in docs if d.our_key and d.our_key not in keys_known})
        expected += self.expected_by_keys(info, extra_keys, platform)
        seen = {(d.doc_type, d.remote_id) for d in docs}
        wanted = [(e.doc_type, e.remote_id) for e in expected
                  if e.status == OutboxStatus.POSTED.value and e.remote_id and (e.doc_type, e.remote_id) not in seen]
        phase(2, f"looking up {len(wanted):,} posted document{'' if len(wanted) == 1 else 's'} by id…" if wanted
              else "reading the RMS mirror…")
        by_id = ledger.by_id(wanted) if wanted else {}
        rms = [] if info.summary_mode else self.rms_returns(info, period)
        phase(3, f"comparing {len(expected):,} expected with {len(docs):,} ledger documents…")
        result: CompareResult = compare(expected, docs, period, by_id=by_id, rms=rms,
                                        home_currency=info.home_currency,
                                        tracked=self.tracked_items(info, platform))
        variances = result.variances
        if check_rms_api:
            phase(4, "asking the RMS API which returns exist…")
            for missing, revision in self.rms_api_returns(info, period):
                if missing.refund_total is not None:
                    result.sums.add_rms(missing.currency, missing.refund_total, missing.day)
                finding = not_posted(missing, result.sums)
                finding.fields["revision"] = revision
                variances.append(finding)
            result.totals = build_totals(result.sums, variances, result.documents)
        phase(PHASES - 1, f"{len(variances):,} variances found; recording…")
        return ReconcileReport(org_code, period, variances, result.totals, result.matched, started,
                               self._clock.now())

    # --- loading --------------------------------------------------------------------------------
    def _columns(self) -> Any:
        o = OutboxDocument
        return (sa.select(o.id, o.idempotency_key, o.doc_type, o.role, o.status, o.total_minor, o.currency,
                          o.txn_date, o.remote_id, o.return_id, o.payload, o.created_at, Return.rma_number)
                .outerjoin(Return, Return.id == o.return_id))

    def _to_expected(self, rows: Sequence[Any], platform: str, taxes: dict[int, int]) -> list[Expected]:
        cutoff = self._clock.now() - self.grace
        out: list[Expected] = []
        for r in rows:
            status = OutboxStatus(r.status)
            total = Money.from_minor_units(r.total_minor, r.currency).amount \
                if r.total_minor is not None and r.currency else None
            tax = None
            if r.role in TAXED_ROLES and r.currency:
                tax = _sent_tax(platform, r.doc_type, r.payload, total)
                if tax is None:
                    tax = Money.from_minor_units(taxes.get(r.return_id or -1, 0), r.currency).amount
            created = r.created_at
            recent = status in _OWED and created is not None and created >= cutoff
            out.append(Expected(r.idempotency_key, r.doc_type, r.role, status.value, total, r.currency, r.txn_date,
                                r.remote_id, tax, _rate(platform, r.doc_type, r.payload), r.rma_number, r.id,
                                r.return_id, recent, _items(platform, r.doc_type, r.payload)))
        return out

    def tracked_items(self, info: OrgInfo, platform: str) -> dict[str, str]:
        """The items whose quantity the ledger keeps, as its document lines name them, each with the
        name people know it by — "Name (SKU)" — (the reference cache's last copy: an item it does not
        know as tracked is not compared)."""
        if info.connection_id is None:
            return {}
        by_code = platform_for(platform).items_by_code
        with self._db.session() as s:
            rows = s.execute(sa.select(RefItem.remote_id, RefItem.name, RefItem.sku, RefItem.raw)
                             .where(RefItem.connection_id == info.connection_id)).all()
        out: dict[str, str] = {}
        for r in rows:
            st = item_stock(RefRecord(RefKind.ITEM, r.remote_id, r.name, code=r.sku, raw=r.raw or {}),
                            info.home_currency)
            key = st.sku if by_code else st.item_id
            if st.tracked and key:
                out[key] = f"{r.name} ({r.sku})" if r.name and r.sku and r.sku != r.name else (r.name or r.sku or key)
        return out

    def _taxes(self, s: Any, return_ids: set[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        ids = sorted(return_ids)
        for i in range(0, len(ids), _CHUNK):
            stmt = (sa.select(ReturnTaxLine.return_id, sa.func.sum(ReturnTaxLine.amount_minor))
                    .where(ReturnTaxLine.return_id.in_(ids[i:i + _CHUNK])).group_by(ReturnTaxLine.return_id))
            out.update({int(rid): int(total or 0) for rid, total in s.execute(stmt)})
        return out

    def expected(self, info: OrgInfo, period: Period, platform: str) -> list[Expected]:
        """Outbox documents of the organization dated in the period (quarantined ones too: owed)."""
        o = OutboxDocument
        with self._db.session() as s:
            rows = s.execute(self._columns().where(o.organization_id == info.id, o.txn_date >= period.start,
                                                   o.txn_date <= period.end).order_by(o.id)).all()
            taxes = self._taxes_for(s, rows, period, info)
        return self._to_expected(rows, platform, taxes)

    def _taxes_for(self, s: Any, rows: Sequence[Any], period: Period, info: OrgInfo) -> dict[int, int]:
        ids = {r.return_id for r in rows if r.return_id is not None and r.role in TAXED_ROLES}
        if len(ids) <= 5 * _CHUNK:
            return self._taxes(s, ids)
        o = OutboxDocument  # many: one grouped query over the period instead of IN-lists
        stmt = (sa.select(ReturnTaxLine.return_id, sa.func.sum(ReturnTaxLine.amount_minor))
                .where(ReturnTaxLine.return_id.in_(sa.select(o.return_id).where(
                    o.organization_id == info.id, o.txn_date >= period.start, o.txn_date <= period.end)))
                .group_by(ReturnTaxLine.return_id))
        return {int(rid): int(total or 0) for rid, total in s.execute(stmt)}

    def expected_by_keys(self, info: OrgInfo, keys: Sequence[str], platform: str) -> list[Expected]:
        """Outbox documents dated outside the period whose keys the period's ledger documents carry."""
        if not keys:
            return []
        rows: list[Any] = []
        with self._db.session() as s:
            for i in range(0, len(keys), _CHUNK):
                rows += s.execute(self._columns().where(
                    OutboxDocument.organization_id == info.id,
                    OutboxDocument.idempotency_key.in_(keys[i:i + _CHUNK]))).all()
            taxes = self._taxes(s, {r.return_id for r in rows if r.return_id is not None})
        return self._to_expected(rows, platform, taxes)

    def rms_returns(self, info: OrgInfo, period: Period) -> list[RmsReturn]:
        """The mirror's current returns created in the period (organization-local dates)."""
        tz = ZoneInfo(info.timezone)
        start = datetime.combine(period.start, datetime.min.time(), tz)
        end = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), tz)
        has_docs = sa.exists().where(OutboxDocument.return_id == Return.id)
        r2 = Return.__table__.alias("r2")
        newer = sa.exists().where(r2.c.rms_id == Return.rms_id, r2.c.organization_id == Return.organization_id,
                                  r2.c.revision > Return.revision)
        cutoff = self._clock.now() - self.grace
        stmt = (sa.select(Return.id, Return.rma_number, Return.currency, Return.refund_total_minor,
                          Return.rms_created_at, Return.sync_status, Return.ingested_at, has_docs.label("has_docs"))
                .where(Return.organization_id == info.id, Return.rms_created_at >= start, Return.rms_created_at < end,
                       ~newer))
        out: list[RmsReturn] = []
        with self._db.session() as s:
            for r in s.execute(stmt):
                status = ReturnSyncStatus(r.sync_status)
                if status is ReturnSyncStatus.NEW and r.ingested_at is not None and r.ingested_at >= cutoff:
                    continue  # just arrived: the next push plans it
                day = r.rms_created_at.astimezone(tz).date() if r.rms_created_at else None
                if r.currency == NO_CURRENCY or r.refund_total_minor is None:
                    raw = s.scalar(sa.select(Return.raw_payload).where(Return.id == r.id)) or {}
                    out.append(_from_record(r.id, r.rma_number, raw, info.home_currency, day, bool(r.has_docs),
                                            status.value))
                    continue
                total = Money.from_minor_units(r.refund_total_minor, r.currency).amount
                out.append(RmsReturn(r.id, r.rma_number, r.currency, total, day, bool(r.has_docs), status.value))
        return out

    def rms_api_returns(self, info: OrgInfo, period: Period) -> list[tuple[RmsReturn, dict[str, Any]]]:
        """Returns created in the period that the RMS API has and the mirror lacks (or holds at an
        older revision): not ingested, so certainly not in the ledger (their variances say so), each
        with its ``revision`` field (the RMS's, the mirror's)."""
        client = self._rms_api_for(info.code) if self._rms_api_for else None
        if client is None:
            return []
        latest: dict[str, tuple[int, dict[str, Any]]] = {}
        cursor: str | None = None
        while True:
            page = client.changes(cursor, 200, organization=info.code)
            for ret in page.returns:
                created = str(ret.get("created_at") or "")[:10]
                try:
                    if created and not period.contains(date.fromisoformat(created)):
                        continue
                except ValueError:
                    pass  # an unreadable date: compare it rather than hide it
                rid, rev = str(ret.get("id")), int(ret.get("revision") or 0)
                if rev >= latest.get(rid, (-1, {}))[0]:
                    latest[rid] = (rev, dict(ret))
            cursor = page.next_cursor
            if not page.has_more:
                break
        with self._db.session() as s:
            mirror = dict(s.execute(sa.select(Return.rms_id, sa.func.max(Return.revision))
                                    .where(Return.organization_id == info.id).group_by(Return.rms_id)).all())
        out: list[tuple[RmsReturn, dict[str, Any]]] = []
        for rid, (rev, ret) in sorted(latest.items()):
            have = mirror.get(rid)
            if have is None or int(have) < rev:
                try:
                    day: date | None = date.fromisoformat(str(ret.get("created_at") or "")[:10])
                except ValueError:
                    day = None
                out.append((_from_record(None, str(ret.get("rma_number") or rid), ret, info.home_currency, day,
                                         False, "not ingested"), {"rms": rev, "ledger": None, "mirror": have}))
        return out


def _from_record(return_id: int | None, rma: str, raw: dict[str, Any], home: str, day: date | None,
                 has_documents: bool, status: str) -> RmsReturn:
    """An RMS record read for its currency and refund as far as they can be read: a currency that
    is not one is counted in the organization's (``unreadable_currency`` says what it said)."""
    text = raw.get("currency")
    readable = isinstance(text, str) and is_known_currency(text)
    currency = str(text) if readable else home
    total: Decimal | None = None
    value = raw.get("refund_total")
    if isinstance(value, (str, int, Decimal)) and not isinstance(value, bool):
        try:
            parsed = Decimal(str(value))
            total = parsed if parsed.is_finite() else None
        except ArithmeticError:
            total = None
    return RmsReturn(return_id or 0, rma, currency, total, day, has_documents, status,
                     None if readable else (str(text) if text is not None else ""))
