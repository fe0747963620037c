"""The one planner: a return in, its ledger documents, pre-flight's problems and the rates used out.

The sync, ``preview``, manual entry and the reconciliation's adjusting entries all plan through
this module, so what a person previews is what the sync posts. Planning needs the organization's
settings, its cached reference data, the active mapping and the exchange rates; loading them is
the expensive part, so :meth:`Planner.context` loads them once into an :class:`OrgContext` that
the sync reuses for the thousands of returns of one run, and :func:`plan_return` plans one return
against it.

Exchange rates (home units per 1 foreign unit) come from two sources, merged the same way for
every caller: the ledger's own rate for the return's currency and posting day (QuickBooks publishes
one; Xero none), asked through the injected :data:`RatesProvider` — the one place the planner
reaches the ledger — and the organization's entered ``fx_rates`` setting, which fills the days the
ledger has no rate for. A return's rates depend only on its own (currency, day): the table a
return is planned with holds the ledger's answer for that pair and the entered rates, never the
answers fetched for other returns of the same run, so the plan of a return does not depend on
which other returns are planned with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from desktop.services.core.clock import Clock, local_date
from desktop.services.core.domain import OrgSettings, PostingMode, Problem, ReturnRecord
from desktop.services.core.errors import AppError, NeedsPersonError, TransientError
from desktop.services.core.money import Money
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.mapping.service import MappingService
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import FxRates, FxUse
from desktop.services.pipeline.preflight import merge_problems, preflight
from desktop.services.platforms.interface import LedgerPlatform
from desktop.services.rms.records import from_row
from desktop.services.store.connection_choice import org_connection
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, Return

__all__ = ["LedgerRate", "OrgContext", "Plan", "Planner", "RatesProvider", "connector_rates", "plan_documents",
           "plan_return"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerRate:
    """One exchange rate the ledger publishes: home units per 1 ``currency``, as of ``as_of``."""

    currency: str
    as_of: date
    rate: Decimal
    source: str  # e.g. "qbo:exchangerate"


#: ``(connection id, [(currency, day), …]) -> {(currency, day): rate}``: the ledger's own rates for
#: the asked pairs; a pair the ledger has no rate for (or could not be asked about) is left out.
#: A ledger that publishes no rates (Xero) answers ``{}``.
RatesProvider = Callable[[int, Sequence[tuple[str, date]]], Mapping[tuple[str, date], LedgerRate]]


def connector_rates(connections: Any) -> RatesProvider:
    """The rates provider over the connections' ledger platforms: one rate read per asked pair.

    Asks the platform's profile whether it publishes rates at all (QuickBooks does, Xero's API
    does not) and then the platform itself (:meth:`LedgerPlatform.exchange_rate`), so planning
    never names a platform.
    """

    def provide(connection_id: int, pairs: Sequence[tuple[str, date]]) -> dict[tuple[str, date], LedgerRate]:
        if not pairs or connections is None:
            return {}
        try:
            ledger: LedgerPlatform = connections.connector(connection_id)  # lazy: no request until asked
        except AppError:
            return {}  # e.g. disconnected a moment ago: pre-flight reports the missing rates
        if not ledger.profile.publishes_rates:
            return {}
        source = f"{ledger.profile.key}:exchangerate"
        out: dict[tuple[str, date], LedgerRate] = {}
        for cur, day in pairs:
            try:
                row = ledger.exchange_rate(cur, day)
            except TransientError:
                raise  # the ledger did not answer: plan again next round, never quarantine as "no rate"
            except AppError:
                row = None  # pre-flight reports the missing rate for a person
            if row is not None:
                rate = row["Rate"]
                out[(cur, day)] = LedgerRate(str(row["SourceCurrencyCode"]), date.fromisoformat(str(row["AsOfDate"])),
                                             rate if isinstance(rate, Decimal) else Decimal(str(rate)), source)
        return out

    return provide


@dataclass(frozen=True)
class Plan:
    """One return's documents as they would post, every reason they must wait, and the rates used."""

    record: ReturnRecord
    documents: list[LedgerDocument]
    problems: list[Problem]
    rates: tuple[FxUse, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.documents)


@dataclass
class OrgContext:
    """Everything planning needs about one organization, loaded once and reused for many returns.

    ``connection_id`` is the connected ledger connection (None when none is connected: nothing
    can post, and only the entered rates are known); the snapshot comes from it, else from the
    newest connection of any status, as the Mappings page shows.
    """

    code: str
    id: int
    timezone: str
    home_currency: str
    platform: str
    settings: OrgSettings
    snapshot: ReferenceSnapshot
    resolver: Resolver
    connection_id: int | None
    clock: Clock
    rates_provider: RatesProvider | None = None
    _entered: FxRates | None = None
    _ledger: dict[tuple[str, date], LedgerRate | None] = field(default_factory=dict)
    _tables: dict[tuple[str, date], FxRates] = field(default_factory=dict)

    @property
    def entered_rates(self) -> FxRates:
        """The organization's ``fx_rates`` setting (what an admin entered)."""
        if self._entered is None:
            self._entered = FxRates.from_settings(self.snapshot.home_currency, self.settings.extra.get("fx_rates"))
        return self._entered

    def today(self) -> date:
        """The organization's date now (pre-flight's "today")."""
        return local_date(self.clock.now(), self.timezone)

    def rate_day(self, ret: ReturnRecord) -> date:
        """The day whose ledger rate a return needs: its organization-local date of last update."""
        return local_date(ret.updated_at, self.timezone)

    def prefetch(self, pairs: Iterable[tuple[str, date]]) -> None:
        """Ask the ledger once for every (currency, day) not asked yet (home currency skipped)."""
        home = self.snapshot.home_currency
        wanted = sorted({(c, d) for c, d in pairs if c != home and (c, d) not in self._ledger})
        if not wanted:
            return
        found: Mapping[tuple[str, date], LedgerRate] = {}
        if self.rates_provider is not None and self.connection_id is not None:
            found = self.rates_provider(self.connection_id, wanted)
        for pair in wanted:
            self._ledger[pair] = found.get(pair)

    def rates_for(self, ret: ReturnRecord) -> FxRates:
        """The rate table ``ret`` is planned with: the ledger's rate for its (currency, day), and
        the entered rates for every day the ledger has no rate for (a rate on exactly the same
        day from the ledger wins)."""
        home = self.snapshot.home_currency
        if ret.currency == home:
            return self.entered_rates
        pair = (ret.currency, self.rate_day(ret))
        table = self._tables.get(pair)
        if table is not None:
            return table
        self.prefetch([pair])
        found = self._ledger.get(pair)
        if found is None:
            table = self.entered_rates
        else:
            table = FxRates(home, source=found.source)
            table.add(found.currency, found.as_of, found.rate)
            extra = self.settings.extra.get("fx_rates")
            if isinstance(extra, dict):
                for cur, by_day in extra.items():
                    for day_text, rate in (by_day or {}).items() if isinstance(by_day, dict) else ():
                        day = date.fromisoformat(str(day_text))
                        known = table.lookup(str(cur), day)
                        if known is None or known.as_of != day:
                            table.add(str(cur), day, Decimal(str(rate)))
        self._tables[pair] = table
        return table

    def home_value(self, ret: ReturnRecord, money: Money) -> Money | None:
        """``money`` (an amount of ``ret``) in the home currency at the rate ``ret`` is planned with;
        None when no rate is known (maker-checker's threshold compares this figure)."""
        if money.currency == self.home_currency:
            return money
        fx = self.rates_for(ret).lookup(money.currency, self.rate_day(ret))
        return None if fx is None else fx.to_home(money)

    def record(self, row: Return) -> ReturnRecord:
        """The return row as the recipes read it (raises ValueError when the stored return is unreadable)."""
        record = from_row(row)
        return record if record.org_code else replace(record, org_code=self.code)


def plan_return(org: OrgContext, ret: ReturnRecord, *, summary: bool = False,
                rework: Callable[[LedgerDocument], LedgerDocument] | None = None) -> Plan:
    """Recipes then pre-flight for one return: its documents, every reason they must wait, the rates.

    ``summary``: plan it as daily-summary mode would (one day's summary of just this return) —
    what ``preview`` shows for an organization in that mode. ``rework``: applied to each document
    before pre-flight (manual entry re-dates documents to the day a person entered them).
    """
    from desktop.services.pipeline.recipes import build_documents, summary_documents
    rates = org.rates_for(ret)
    if summary:
        docs, problems = summary_documents([ret], org.resolver, org.snapshot, org.settings, rates, tz=org.timezone)
    else:
        docs, problems = build_documents(ret, org.resolver, org.snapshot, org.settings, rates, tz=org.timezone)
    if rework is not None:
        docs = [rework(d) for d in docs]
    return plan_documents(org, ret, docs, problems)


def plan_documents(org: OrgContext, ret: ReturnRecord, docs: Sequence[LedgerDocument],
                   problems: Sequence[Problem] = (), *, not_checked: frozenset[str] = frozenset()) -> Plan:
    """Pre-flight documents built for ``ret`` (by the recipes, or by hand as an adjusting journal).

    ``not_checked``: pre-flight codes that do not apply to these documents (an adjusting journal
    names no customer and does not carry the return's refund).
    """
    checked = [p for p in preflight(docs, ret, org.snapshot, org.settings, org.today()) if p.code not in not_checked]
    used: dict[tuple[str, date, Decimal, str], FxUse] = {}
    for d in docs:
        if d.fx is not None:
            used.setdefault((d.fx.currency, d.fx.as_of, d.fx.rate, d.fx.source), d.fx)
    return Plan(ret, list(docs), merge_problems(problems, checked), tuple(used.values()))


class Planner:
    """Loads :class:`OrgContext` objects (see the module docstring).

    Args:
        db: the app's database.
        clock: pre-flight's "today".
        mapping: the organization's active mapping and cached reference data.
        rates_provider: the ledger's own exchange rates (:func:`connector_rates` over the
            connection service in the app); None plans with the entered rates only.
    """

    def __init__(self, db: Database, clock: Clock, mapping: MappingService,
                 rates_provider: RatesProvider | None = None) -> None:
        self._db, self._clock, self._mapping, self._rates = db, clock, mapping, rates_provider

    def context(self, org: str) -> OrgContext:
        """Load ``org``'s planning context; NeedsPersonError when there is no such organization."""
        with self._db.session() as s:
            o = s.scalar(sa.select(Organization).where(Organization.code == org))
            if o is None:
                raise NeedsPersonError(f"There is no organization {org!r}", action="check the organization code")
            connection_id = org_connection(s, o.id, connected_only=True)
            oid, tz, home = o.id, o.timezone or "UTC", o.home_currency
            platform, settings = o.platform.value, OrgSettings.from_json(o.settings)
        snapshot = self._mapping.snapshot(org) or ReferenceSnapshot.empty(platform, home)
        resolver = self._mapping.resolver(org, snapshot)
        return OrgContext(org, oid, tz, home, platform, settings, snapshot, resolver, connection_id, self._clock,
                          self._rates)

    def plan(self, org: OrgContext | str, ret: ReturnRecord) -> Plan:
        """:func:`plan_return` for one return, loading the context when given a code."""
        ctx = self.context(org) if isinstance(org, str) else org
        return plan_return(ctx, ret, summary=ctx.settings.posting_mode is PostingMode.DAILY_SUMMARY)
