"""What the first-run set-up assistant reads and the few steps it takes.

An installation is *empty* when no returns system is configured and no ledger is connected; the
GUI then offers the assistant. Its steps reuse the owners of each rule: the RMS endpoint
(:class:`~desktop.services.rms.endpoint.RmsEndpoint`), the ledger sign-in (the Connections page's
own flow), the shipped mapping templates (:mod:`desktop.services.mapping.io`, applied here for the
assistant and the demo alike) and the scheduler's per-organization intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop.services.auth.platforms import platform_label
from desktop.services.auth.roles import Action, Actor
from desktop.services.pipeline.scheduler import CHAIN, DEFAULT_INTERVALS_S

if TYPE_CHECKING:
    from desktop.services.connections.service import ConnectionService, ConnectionSummary
    from desktop.services.mapping.service import MappingService
    from desktop.services.pipeline.scheduler import SyncScheduler
    from desktop.services.rms.endpoint import RmsEndpoint, RmsStatus

__all__ = ["LedgerStep", "SetupService", "SetupState", "apply_default_template"]


@dataclass(frozen=True)
class LedgerStep:
    """One connected organization as the assistant lists it: its ledger and its mapping."""

    connection_id: int
    org_code: str
    ledger: str
    company_name: str
    state_text: str
    mapping_version: int | None
    template: str | None  # the default template for its ledger and country


@dataclass(frozen=True)
class SetupState:
    rms: RmsStatus
    ledgers: tuple[LedgerStep, ...]
    sync_interval_s: int  # how often returns are read and posted (the first organization's, or the default)

    @property
    def empty(self) -> bool:
        """Nothing configured yet: no RMS address and no ledger connection."""
        return self.rms.base_url is None and not self.ledgers


def _template_for(connections: ConnectionService, summary: ConnectionSummary) -> str | None:
    from desktop.services.mapping.io import default_template_name
    country = str((connections.company(summary.id) or {}).get("country") or "")
    try:
        return default_template_name(summary.platform.value, country)
    except LookupError:
        return None


def apply_default_template(mapping: MappingService, connections: ConnectionService, actor: Actor,
                           summary: ConnectionSummary) -> dict[str, Any]:
    """Import the default template for ``summary``'s ledger and country as its organization's mapping.

    Returns ``{template, version, problems}`` (version None when the import was refused).
    """
    from desktop.services.mapping.io import load_template
    name = _template_for(connections, summary)
    if name is None:
        return {"template": None, "version": None,
                "problems": [f"no shipped template fits {platform_label(summary.platform)} in this country"]}
    result = mapping.import_document(summary.org_code, load_template(name), actor, note=f"default template {name}")
    return {"template": name, "version": result.saved.version if result.saved else None,
            "problems": [p.message for p in result.problems]}


class SetupService:
    """The assistant's view of the installation and its mapping and schedule steps."""

    def __init__(self, rms: RmsEndpoint, connections: ConnectionService | None, mapping: MappingService,
                 scheduler: SyncScheduler | None) -> None:
        self.rms = rms
        self._connections = connections
        self._mapping = mapping
        self._scheduler = scheduler

    def _summaries(self) -> list[ConnectionSummary]:
        if self._connections is None:
            return []
        return [s for s in self._connections.summaries() if s.state != "disconnected"]

    def state(self) -> SetupState:
        ledgers = []
        for s in self._summaries():
            active = self._mapping.active_set(s.org_code)
            assert self._connections is not None
            ledgers.append(LedgerStep(s.id, s.org_code, platform_label(s.platform), s.company_name, s.state_text,
                                      active.version if active is not None else None,
                                      _template_for(self._connections, s)))
        interval = DEFAULT_INTERVALS_S["push"]
        if self._scheduler is not None and ledgers:
            interval = self._scheduler.interval(ledgers[0].org_code, "push")
        return SetupState(self.rms.status(), tuple(ledgers), interval)

    def apply_default_template(self, actor: Actor, connection_id: int) -> dict[str, Any]:
        actor.require(Action.MANAGE_MAPPINGS)
        summary = next((s for s in self._summaries() if s.id == connection_id), None)
        if summary is None or self._connections is None:
            from desktop.services.core.errors import ConfigurationError
            raise ConfigurationError("That connection is gone", action="reopen the set-up assistant")
        return apply_default_template(self._mapping, self._connections, actor, summary)

    def set_sync_interval(self, actor: Actor, seconds: int) -> list[str]:
        """Read returns, post and read the ledger back every ``seconds`` for every connected organization."""
        actor.require(Action.MANAGE_SETTINGS)
        if self._scheduler is None:
            from desktop.services.core.errors import ConfigurationError
            raise ConfigurationError("The sync schedule cannot be changed in this window",
                                     action="set it in the app's main window")
        orgs = sorted({s.org_code for s in self._summaries()})
        for org in orgs:
            for kind in CHAIN:
                self._scheduler.set_interval(org, kind, seconds)
        return orgs
