"""Per-organization posting choices an admin makes: the settings of :data:`POSTING_SETTINGS`.

Each lives in ``organizations.settings`` as :class:`~desktop.services.core.domain.OrgSettings`
reads it (``posting_mode``, ``fee_treatment``, ``closed_period``, ``store_credit``, ``goods_posting``,
``damaged_goods``); the pipeline's recipes and pre-flight follow them. Changing one is an admin's
act: permission-checked here, audited as ``settings.<setting>_set`` with the previous and the new
value, the same for the Settings page and ``returns-ledger settings``. Setting a value it already
has changes nothing and audits nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.admin import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.domain import POSTING_SETTINGS, ClosedPeriodPolicy, OrgSettings, PostingSetting
from desktop.services.core.errors import NeedsPersonError
from desktop.services.store.db import Database
from desktop.services.store.models import Organization

__all__ = ["OrgPostingChoice", "PostingSettings", "find_organization", "kebab", "parse_closed_period",
           "parse_setting", "parse_value"]


@dataclass(frozen=True)
class OrgPostingChoice:
    """One organization and its posting choices, as the Settings page lists them."""

    code: str
    name: str
    settings: OrgSettings

    @property
    def closed_period(self) -> ClosedPeriodPolicy:
        return self.settings.closed_period

    def value(self, setting: str) -> StrEnum:
        """The current choice of ``setting`` (a :data:`POSTING_SETTINGS` key)."""
        found: StrEnum = getattr(self.settings, POSTING_SETTINGS[setting].name)
        return found


def find_organization(s: Session, code: str) -> Organization:
    """The organization ``code``, or a clear refusal naming where the codes are listed."""
    found = s.scalars(sa.select(Organization).where(Organization.code == code)).first()
    if found is None:
        raise NeedsPersonError(f"There is no organization {code}", action="check the code (returns-ledger "
                               "connections lists them)")
    return found


def _key(text: str) -> str:
    return text.strip().lower().replace("-", "_").replace(" ", "_")


def kebab(value: StrEnum) -> str:
    return value.value.replace("_", "-")


def parse_setting(text: str) -> PostingSetting:
    """``store-credit`` (or ``store_credit``, or the screen's label) as its setting; a clear refusal otherwise."""
    wanted = _key(text)
    for setting in POSTING_SETTINGS.values():
        if wanted in (setting.name, _key(setting.label)):
            return setting
    raise NeedsPersonError(f"“{text}” is not a posting setting",
                           action="use " + _either(s.kebab for s in POSTING_SETTINGS.values()))


def parse_value(setting: PostingSetting, text: str) -> StrEnum:
    """A value of ``setting`` in its kebab form (``first-open-day``) or the screen's words; a clear
    refusal listing the valid ones otherwise."""
    wanted = _key(text)
    for value, words in setting.choices.items():
        if wanted in (value.value, _key(words)):
            return value
    raise NeedsPersonError(f"“{text}” is not a {setting.kebab} choice",
                           action="use " + _either(kebab(v) for v in setting.choices))


def parse_closed_period(text: str) -> ClosedPeriodPolicy:
    """``first-open-day`` / ``quarantine`` (or the screen's words) as a policy; a clear refusal otherwise."""
    return ClosedPeriodPolicy(parse_value(POSTING_SETTINGS["closed_period"], text))


def _either(words: Iterable[str]) -> str:
    listed = sorted(words)
    return ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else listed[0]


class PostingSettings:
    """Reads and changes the organizations' posting choices (see the module docstring)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def choices(self) -> list[OrgPostingChoice]:
        """Every organization with its choices, by code."""
        with self._db.session() as s:
            rows = s.execute(sa.select(Organization.code, Organization.name, Organization.settings)
                             .order_by(Organization.code)).all()
        return [OrgPostingChoice(code, name or code, OrgSettings.from_json(settings)) for code, name, settings in rows]

    def current(self, org: str) -> OrgSettings:
        with self._db.session() as s:
            return OrgSettings.from_json(find_organization(s, org).settings)

    def closed_period(self, org: str) -> ClosedPeriodPolicy:
        return self.current(org).closed_period

    def set(self, actor: Actor, org: str, setting: str, value: StrEnum | str) -> StrEnum:
        """Use ``value`` for ``setting`` of ``org`` from now on; audited. Returns the previous value."""
        return self.set_many(actor, org, {setting: value})[setting]

    def set_many(self, actor: Actor, org: str, changes: Mapping[str, StrEnum | str]) -> dict[str, StrEnum]:
        """Change several settings of ``org`` at once (one transaction, one audit entry per setting that
        really changes). Returns each setting's previous value."""
        actor.require(Action.MANAGE_SETTINGS)
        wanted: dict[str, StrEnum] = {}
        for name, value in changes.items():
            setting = POSTING_SETTINGS.get(name)
            if setting is None:
                raise NeedsPersonError(f"“{name}” is not a posting setting",
                                       action="use " + _either(POSTING_SETTINGS))
            try:
                wanted[name] = setting.enum(value)
            except ValueError:
                wanted[name] = parse_value(setting, str(value))
        previous: dict[str, StrEnum] = {}
        with self._db.write_session() as s:
            found = find_organization(s, org)
            stored = dict(found.settings or {})
            current = OrgSettings.from_json(stored)
            for name, value in wanted.items():
                before: StrEnum = getattr(current, name)
                previous[name] = before
                if before is value:
                    continue
                stored[name] = value.value
                found.settings = dict(stored)
                found.updated_at = self._clock.now()
                audit.append(s, self._clock, actor=actor.username, action=f"settings.{name}_set", target=org,
                             organization_id=found.id, details={name: value.value, "previous": before.value})
        return previous

    def set_closed_period(self, actor: Actor, org: str, policy: ClosedPeriodPolicy) -> ClosedPeriodPolicy:
        """Use ``policy`` for ``org`` from now on; audited. Returns the previous choice (no change: no audit)."""
        return ClosedPeriodPolicy(self.set(actor, org, "closed_period", policy))
