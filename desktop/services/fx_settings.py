"""Exchange rates an admin enters for an organization: the ``fx_rates`` organization setting.

Xero's Accounting API publishes no exchange rates, and a QuickBooks company may lack one for a
day; the recipes then use the organization's own table (home-currency units per one foreign
unit, each valid from its date until the next — :meth:`FxRates.from_settings`). Entering a rate is
an admin's act: permission-checked here, audited, never a float.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.clock import Clock
from desktop.services.errors import NeedsPersonError
from desktop.services.money import is_known_currency
from desktop.services.store.db import Database
from desktop.services.store.models import Organization

__all__ = ["FxRateSettings", "parse_rate"]

SETTING = "fx_rates"


def parse_rate(text: str) -> Decimal:
    """A positive decimal rate from text (a float never gets this far)."""
    try:
        rate = Decimal(text.strip())
    except InvalidOperation:
        raise NeedsPersonError(f"“{text}” is not a number", action="type the rate like 0.915400") from None
    if not rate.is_finite() or rate <= 0:
        raise NeedsPersonError(f"An exchange rate must be greater than zero, not {text}",
                               action="type the home-currency amount one foreign unit buys, e.g. 1.0925")
    return rate


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

    def set(self, actor: Actor, org: str, currency: str, day: date, rate: Decimal) -> None:
        """Use ``rate`` (home units per one ``currency``) from ``day`` on; audited."""
        actor.require(Action.MANAGE_SETTINGS)
        currency = currency.strip().upper()
        if not is_known_currency(currency):
            raise NeedsPersonError(f"{currency} is not an ISO 4217 currency code", action="use a code like AUD")
        if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
            raise NeedsPersonError(f"An exchange rate must be a positive decimal, not {rate!r}")
        with self._db.write_session() as s:
            found = self._org(s, org)
            if currency == found.home_currency:
                raise NeedsPersonError(f"{currency} is {org}'s home currency: it needs no rate")
            settings = dict(found.settings or {})
            table = {k: dict(v) for k, v in (settings.get(SETTING) or {}).items() if isinstance(v, dict)}
            previous = table.setdefault(currency, {}).get(day.isoformat())
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
        found = s.scalars(sa.select(Organization).where(Organization.code == code)).first()
        if found is None:
            raise NeedsPersonError(f"There is no organization {code}", action="check the code (returns-ledger "
                                   "connections lists them)")
        return found
