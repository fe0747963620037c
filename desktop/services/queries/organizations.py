"""The organizations a page lists in its picker, read for the views (they never query tables).

Three shapes, one per picker: the active codes (Reconciliation), every code with its name
(Mappings, when no connection service is wired) and the active organizations with the foreign
currencies their ledger said it uses (Settings → Exchange rates).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, Organization

__all__ = ["OrgCurrencies", "OrganizationDirectory"]


@dataclass(frozen=True)
class OrgCurrencies:
    """An active organization and the foreign currencies its ledger connection reported."""

    code: str
    name: str
    platform: str
    home_currency: str
    timezone: str
    currencies: tuple[str, ...]  # upper-case ISO codes, sorted, the home currency left out


class OrganizationDirectory:
    """Read-only lists of organizations; every method opens its own session (call it off the GUI thread)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def active_codes(self) -> list[str]:
        """Codes of the active organizations, sorted."""
        with self._db.session() as s:
            return list(s.scalars(sa.select(Organization.code).where(Organization.is_active.is_(True))
                                  .order_by(Organization.code)))

    def names(self) -> list[tuple[str, str]]:
        """``(code, name)`` of every organization, active or not, by code."""
        with self._db.session() as s:
            return [(c, n) for c, n in s.execute(sa.select(Organization.code, Organization.name)
                                                 .order_by(Organization.code)).all()]

    def with_currencies(self) -> list[OrgCurrencies]:
        """Active organizations with the currencies each connection's cached company info lists."""
        with self._db.session() as s:
            orgs = list(s.scalars(sa.select(Organization).where(Organization.is_active.is_(True))
                                  .order_by(Organization.code)))
            found: dict[int, set[str]] = {o.id: set() for o in orgs}
            for org_id, company in s.execute(sa.select(LedgerConnection.organization_id, LedgerConnection.company)):
                if org_id in found and isinstance(company, dict):
                    found[org_id].update(str(c).upper() for c in company.get("currencies") or () if c)
            return [OrgCurrencies(o.code, o.name, str(o.platform.value), o.home_currency, o.timezone,
                                  tuple(sorted(found[o.id] - {o.home_currency}))) for o in orgs]
