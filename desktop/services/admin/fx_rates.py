"""Exchange rates an admin enters for an organization: the ``fx_rates`` organization setting.

Xero's Accounting API publishes no exchange rates, and a QuickBooks company may lack one for a
day; the recipes then use the organization's own table (home-currency units per one foreign
unit, each valid from its date until the next — :meth:`FxRates.from_settings`). Entering a rate is
an admin's act: permission-checked here, audited, never a float.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from desktop.services.admin import audit
from desktop.services.admin.org_settings import find_organization
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.exact_json import to_decimal, to_decimal_or_none
from desktop.services.core.money import is_known_currency
from desktop.services.store.db import Database
from desktop.services.store.models import Organization

__all__ = ["JUMP_CONFIRM", "MAX_RATE", "MAX_RATE_PLACES", "MIN_RATE", "FxRateSettings", "RateJumpNeedsConfirmation",
           "check_rate", "parse_rate"]

SETTING = "fx_rates"
#: The range a real rate falls in (home units per one foreign unit): 1 Kuwaiti dinar buys about
#: 3·10⁶ Iranian rials at market rates; the inverse is about 3·10⁻⁷. Outside it is a typo.
MIN_RATE = Decimal("0.00000001")
MAX_RATE = Decimal("100000000")
#: Decimal places a rate may carry (more is noise, and a typo's sign).
MAX_RATE_PLACES = 10
#: A new rate further than this from the one in force asks for confirmation.
JUMP_CONFIRM = Decimal("0.20")


class RateJumpNeedsConfirmation(NeedsPersonError):
    """The rate is more than :data:`JUMP_CONFIRM` away from the one in force: ask before saving."""

    def __init__(self, message: str, *, reference: Decimal, change: Decimal) -> None:
        super().__init__(message, action="check the rate; if it is right, confirm it (fx set --confirm, or Yes in "
                                         "the app)")
        self.reference = reference
        self.change = change


def check_rate(rate: Decimal, text: str | None = None) -> Decimal:
    """``rate`` if it is a plausible exchange rate; a clear refusal otherwise (one rule for every door)."""
    shown = text if text is not None else format(rate, "f") if rate.is_finite() else str(rate)
    if not rate.is_finite() or rate <= 0:
        raise NeedsPersonError(f"An exchange rate must be greater than zero, not {shown}",
                               action="type the home-currency amount one foreign unit buys, e.g. 1.0925")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise NeedsPersonError(f"{shown} is outside any real exchange rate ({MIN_RATE:f} to {MAX_RATE:,f})",
                               action="check the digits, and that the rate is home-currency units per ONE foreign "
                                      "unit")
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_RATE_PLACES:
        raise NeedsPersonError(f"{shown} has more than {MAX_RATE_PLACES} decimal places",
                               action=f"round the rate to {MAX_RATE_PLACES} places")
    return rate


def parse_rate(text: str) -> Decimal:
    """A plausible decimal rate from text (a float never gets this far); see :func:`check_rate`."""
    stripped = text.strip()
    if len(stripped) > 40:
        raise NeedsPersonError("That is too long to be an exchange rate", action="type the rate like 0.915400")
    try:
        rate = to_decimal(stripped)
    except ValueError:
        raise NeedsPersonError(f"“{text}” is not a number", action="type the rate like 0.915400") from None
    return check_rate(rate, stripped)


class FxRateSettings:
    """Reads and changes one organization's ``fx_rates`` table (see the module docstring)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def table(self, org: str) -> dict[str, dict[str, str]]:
        """``{currency: {ISO date: rate}}``, rates as decimal strings, dates sorted."""
        with self._db.session() as s:
            found = self._org(s, org)
            raw = (found.settings or {}).get(SETTING) or {}
        return {cur: dict(sorted((str(d), str(r)) for d, r in days.items()))
                for cur, days in sorted(raw.items()) if isinstance(days, dict)}

    def set(self, actor: Actor, org: str, currency: str, day: date, rate: Decimal, *, confirm: bool = False) -> None:
        """Use ``rate`` (home units per one ``currency``) from ``day`` on; audited.

        A rate more than :data:`JUMP_CONFIRM` away from the one in force on ``day`` (or, for the
        first rate after a gap, the nearest one entered) raises :class:`RateJumpNeedsConfirmation`
        unless ``confirm`` says the person has seen it.
        """
        actor.require(Action.MANAGE_SETTINGS)
        currency = currency.strip().upper()
        if not is_known_currency(currency):
            raise NeedsPersonError(f"{currency} is not an ISO 4217 currency code", action="use a code like AUD")
        if not isinstance(rate, Decimal):
            raise NeedsPersonError(f"An exchange rate must be a decimal, not {rate!r}")
        check_rate(rate)
        with self._db.write_session() as s:
            found = self._org(s, org)
            if currency == found.home_currency:
                raise NeedsPersonError(f"{currency} is {org}'s home currency: it needs no rate")
            settings = dict(found.settings or {})
            table = {k: dict(v) for k, v in (settings.get(SETTING) or {}).items() if isinstance(v, dict)}
            previous = table.setdefault(currency, {}).get(day.isoformat())
            reference = _reference_rate(table[currency], day)
            if reference is not None and not confirm:
                change = (rate - reference) / reference
                if abs(change) > JUMP_CONFIRM:
                    raise RateJumpNeedsConfirmation(
                        f"{rate:f} {found.home_currency} per {currency} is {abs(change):.0%} "
                        f"{'above' if change > 0 else 'below'} the rate in force ({reference:f})",
                        reference=reference, change=change)
            table[currency][day.isoformat()] = format(rate, "f")
            settings[SETTING] = table
            found.settings = settings
            found.updated_at = self._clock.now()
            audit.append(s, self._clock, actor=actor.username, action="settings.fx_rate_set", target=org,
                         organization_id=found.id,
                         details={"currency": currency, "from": day.isoformat(), "rate": format(rate, "f"),
                                  "home_currency": found.home_currency, "previous": previous})

    def remove(self, actor: Actor, org: str, currency: str, day: date) -> bool:
        """Forget the rate entered for ``currency`` from ``day``; False when there was none."""
        actor.require(Action.MANAGE_SETTINGS)
        with self._db.write_session() as s:
            found = self._org(s, org)
            settings = dict(found.settings or {})
            table = {k: dict(v) for k, v in (settings.get(SETTING) or {}).items() if isinstance(v, dict)}
            gone = table.get(currency.upper(), {}).pop(day.isoformat(), None)
            if gone is None:
                return False
            settings[SETTING] = {k: v for k, v in table.items() if v}
            found.settings = settings
            found.updated_at = self._clock.now()
            audit.append(s, self._clock, actor=actor.username, action="settings.fx_rate_removed", target=org,
                         organization_id=found.id, details={"currency": currency.upper(), "from": day.isoformat(),
                                                            "rate": gone})
            return True

    @staticmethod
    def _org(s: Session, code: str) -> Organization:
        return find_organization(s, code)


def _reference_rate(days: dict[str, str], day: date) -> Decimal | None:
    """The rate a new entry for ``day`` is compared with: the one in force that day (the latest
    entered on or before it), else the earliest entered after it."""
    known: list[tuple[str, Decimal]] = []
    for d, r in days.items():
        rate = to_decimal_or_none(r)
        if rate is not None:
            known.append((d, rate))
    before = [r for d, r in sorted(known) if d <= day.isoformat()]
    after = [r for d, r in sorted(known) if d > day.isoformat()]
    found = before[-1] if before else after[0] if after else None
    return found if found is not None and found.is_finite() and found > 0 else None
