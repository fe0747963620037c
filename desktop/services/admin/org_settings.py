"""Per-organization posting choices an admin makes: what happens to a document dated in a closed period.

The choice lives in ``organizations.settings`` as :class:`~desktop.services.core.domain.OrgSettings`
reads it (``closed_period``); the pipeline's recipes re-date a document to the first open day
only when it says so, and otherwise pre-flight holds it for a person. Changing it is an admin's act:
permission-checked here, audited, the same for the Settings page and ``returns-ledger settings``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.admin import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.domain import CLOSED_PERIOD_CHOICES, ClosedPeriodPolicy, OrgSettings
from desktop.services.core.errors import NeedsPersonError
from desktop.services.store.db import Database
from desktop.services.store.models import Organization

__all__ = ["OrgPostingChoice", "PostingSettings", "find_organization", "parse_closed_period"]

SETTING = "closed_period"


@dataclass(frozen=True)
class OrgPostingChoice:
    """One organization and its closed-period choice, as the Settings page lists them."""

    code: str
    name: str
    closed_period: ClosedPeriodPolicy


def find_organization(s: Session, code: str) -> Organization:
    """The organization ``code``, or a clear refusal naming where the codes are listed."""
    found = s.scalars(sa.select(Organization).where(Organization.code == code)).first()
    if found is None:
        raise NeedsPersonError(f"There is no organization {code}", action="check the code (returns-ledger "
                               "connections lists them)")
    return found


def parse_closed_period(text: str) -> ClosedPeriodPolicy:
    """``first-open-day`` / ``quarantine`` (or the screen's words) as a policy; a clear refusal otherwise."""
    wanted = text.strip().lower().replace("-", "_").replace(" ", "_")
    for policy, words in CLOSED_PERIOD_CHOICES.items():
        if wanted in (policy.value, words.lower().replace(" ", "_")):
            return policy
    raise NeedsPersonError(f"“{text}” is not a closed-period choice", action="use first-open-day or quarantine")


class PostingSettings:
    """Reads and changes the organizations' closed-period choice (see the module docstring)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def choices(self) -> list[OrgPostingChoice]:
        """Every organization with its choice, by code."""
        with self._db.session() as s:
            rows = s.execute(sa.select(Organization.code, Organization.name, Organization.settings)
                             .order_by(Organization.code)).all()
        return [OrgPostingChoice(code, name or code, OrgSettings.from_json(settings).closed_period)
                for code, name, settings in rows]

    def closed_period(self, org: str) -> ClosedPeriodPolicy:
        with self._db.session() as s:
            return OrgSettings.from_json(find_organization(s, org).settings).closed_period

    def set_closed_period(self, actor: Actor, org: str, policy: ClosedPeriodPolicy) -> ClosedPeriodPolicy:
        """Use ``policy`` for ``org`` from now on; audited. Returns the previous choice (no change: no audit)."""
        actor.require(Action.MANAGE_SETTINGS)
        policy = ClosedPeriodPolicy(policy)
        with self._db.write_session() as s:
            found = find_organization(s, org)
            settings = dict(found.settings or {})
            previous = OrgSettings.from_json(settings).closed_period
            if previous is policy:
                return previous
            settings[SETTING] = policy.value
            found.settings = settings
            found.updated_at = self._clock.now()
            audit.append(s, self._clock, actor=actor.username, action="settings.closed_period_set", target=org,
                         organization_id=found.id, details={"closed_period": policy.value,
                                                            "previous": previous.value})
        return previous
