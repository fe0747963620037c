"""Exchange rates the ledger offers, and the record of every rate a document uses.

One convention inside the app: ``rate`` = home-currency units per 1 foreign unit — QBO's
``ExchangeRate``. Xero's ``CurrencyRate`` is the other way round (foreign units per 1 base unit),
so rates read from Xero are inverted on the way in (:meth:`FxRates.from_xero`) and the payload
gets Xero's own figure back (:attr:`FxUse.ledger_rate`), never a re-inverted approximation.

Two mistakes are common enough in practice to check every time: a rate of exactly 1 between two
different currencies (someone typed "1" or a feed failed) and an inverted rate (foreign-per-home
entered where home-per-foreign was meant). Both become flags on :class:`FxUse`, which pre-flight
turns into problems (``fx_rate_is_one``, ``fx_rate_inverted``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext

from desktop.services.core.exact_json import to_decimal
from desktop.services.core.money import Money, Rounding, convert

RATE_IS_ONE = "rate_is_one"
LOOKS_INVERTED = "looks_inverted"

#: A rate more than ten times (or less than a tenth of) the previous known rate is not drift.
_JUMP = Decimal(10)
#: Below this relative change an "inverse fits better" test means nothing (rates near 1).
_NOISE = Decimal("0.05")


def _inv(rate: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 34
        return Decimal(1) / rate


@dataclass(frozen=True)
class FxUse:
    """One rate used by one document: recorded so an accountant can audit every conversion."""

    currency: str          # the document's currency
    home_currency: str
    rate: Decimal          # home units per 1 foreign unit
    source: str            # e.g. "qbo:exchangerate", "xero:currencies", "org-setting"
    as_of: date            # the rate's own date (≤ the document date)
    flags: frozenset[str] = frozenset()
    ledger_rate: Decimal | None = None  # the figure in the ledger's own convention (Xero: foreign per home)

    def to_home(self, money: Money, rule: Rounding = Rounding.HALF_EVEN) -> Money:
        """One amount in home currency, rounded once to the home currency's minor unit."""
        return convert(money, self.rate, self.home_currency, rule)

    def to_json(self) -> dict[str, object]:
        return {"currency": self.currency, "home_currency": self.home_currency, "rate": str(self.rate),
                "ledger_rate": None if self.ledger_rate is None else str(self.ledger_rate),
                "source": self.source, "as_of": self.as_of.isoformat(), "flags": sorted(self.flags)}


@dataclass
class FxRates:
    """Rates by (currency, date), home per foreign; a lookup takes the latest rate on or before the day."""

    home_currency: str
    source: str = "ledger"
    inverted_source: bool = False  # True when built from Xero's foreign-per-home figures
    _dates: dict[str, list[date]] = field(default_factory=dict)
    _rates: dict[str, list[Decimal]] = field(default_factory=dict)

    def add(self, currency: str, day: date, rate: Decimal) -> None:
        """Record one rate (home per foreign). Later additions for the same day win."""
        if rate <= 0:
            raise ValueError(f"exchange rate must be positive, got {rate}")
        dates = self._dates.setdefault(currency, [])
        rates = self._rates.setdefault(currency, [])
        i = bisect.bisect_left(dates, day)
        if i < len(dates) and dates[i] == day:
            rates[i] = rate
        else:
            dates.insert(i, day)
            rates.insert(i, rate)

    @classmethod
    def from_qbo(cls, home_currency: str, rows: Iterable[Mapping[str, object]]) -> FxRates:
        """From QBO ``exchangerate`` rows (``SourceCurrencyCode``, ``Rate``, ``AsOfDate``)."""
        out = cls(home_currency, source="qbo:exchangerate")
        for row in rows:
            rate = row["Rate"]
            out.add(str(row["SourceCurrencyCode"]), date.fromisoformat(str(row["AsOfDate"])),
                    to_decimal(rate, "an exchange rate"))
        return out

    @classmethod
    def from_xero(cls, home_currency: str, rates: Iterable[tuple[str, date, Decimal]]) -> FxRates:
        """From Xero figures: (currency, day, foreign units per 1 base unit) — inverted here."""
        out = cls(home_currency, source="xero:currencyrate", inverted_source=True)
        for currency, day, foreign_per_home in rates:
            out.add(currency, day, _inv(foreign_per_home))
            out._ledger[(currency, day)] = foreign_per_home
        return out

    @classmethod
    def from_settings(cls, home_currency: str, table: object) -> FxRates:
        """From an organization setting ``fx_rates``: ``{"CAD": {"2026-11-01": "0.7300"}}``, home per
        foreign — the fallback where the ledger publishes no rates (Xero) or none is cached yet."""
        out = cls(home_currency, source="org-setting")
        if isinstance(table, dict):
            for currency, by_day in table.items():
                if isinstance(by_day, dict):
                    for day, rate in by_day.items():
                        out.add(str(currency), date.fromisoformat(str(day)), to_decimal(rate, "an exchange rate"))
        return out

    def __post_init__(self) -> None:
        self._ledger: dict[tuple[str, date], Decimal] = {}

    def lookup(self, currency: str, day: date) -> FxUse | None:
        """The rate for ``currency`` on ``day`` (latest on or before it), flagged; None if unknown.

        The home currency converts at exactly 1 and yields None too: a home-currency document
        records no FX use.
        """
        if currency == self.home_currency:
            return None
        dates = self._dates.get(currency)
        if not dates:
            return None
        i = bisect.bisect_right(dates, day) - 1
        if i < 0:
            return None
        rate = self._rates[currency][i]
        previous = self._rates[currency][i - 1] if i > 0 else None
        flags = rate_flags(rate, previous)
        ledger = self._ledger.get((currency, dates[i])) if self.inverted_source else rate
        return FxUse(currency, self.home_currency, rate, self.source, dates[i], flags, ledger)


def rate_flags(rate: Decimal, previous: Decimal | None) -> frozenset[str]:
    """``rate_is_one`` / ``looks_inverted`` for a home-per-foreign rate against the previous one."""
    flags: set[str] = set()
    if rate == 1:
        flags.add(RATE_IS_ONE)
    if previous is not None and previous > 0 and rate != previous:
        ratio = rate / previous
        if ratio > _JUMP or ratio < 1 / _JUMP:
            flags.add(LOOKS_INVERTED)
        else:
            off = abs(rate - previous) / previous
            off_if_inverted = abs(_inv(rate) - previous) / previous
            if off > _NOISE and off_if_inverted < off:
                flags.add(LOOKS_INVERTED)
    return frozenset(flags)
