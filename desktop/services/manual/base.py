"""What every part of the manual-entry service shares: its collaborators and small look-ups."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.core.clock import Clock
from desktop.services.core.events import EventBus, Severity
from desktop.services.mapping.service import MappingService
from desktop.services.pipeline.plan import Planner, connector_rates
from desktop.services.store.db import Database
from desktop.services.store.models import Organization

__all__ = ["ServiceBase"]


class ServiceBase:
    """The collaborators of :class:`~desktop.services.manual.service.ManualEntryService`.

    Args:
        db, clock, bus, mapping: the app's database, clock, event bus (None: no events) and mapping.
        connections: ``ConnectionService`` (``connector(connection_id)``) — adoption, void and the
            ledger's own exchange rates; None plans with the entered rates only.
        planner: the one planner (:mod:`desktop.services.pipeline.plan`); by default one over the
            same services, as the sync builds it, so a manual entry is planned as the sync would.
    """

    def __init__(self, db: Database, clock: Clock, bus: EventBus | None, mapping: MappingService,
                 connections: Any = None, *, planner: Planner | None = None) -> None:
        self._db = db
        self._clock = clock
        self._bus = bus
        self._mapping = mapping
        self._connections = connections
        self._planner = planner or Planner(db, clock, mapping,
                                           connector_rates(connections) if connections is not None else None)

    @staticmethod
    def _org_id(s: Session, org: str) -> int | None:
        return s.scalar(sa.select(Organization.id).where(Organization.code == org))

    def _emit(self, kind: str, severity: Severity, message: str, org: str | None, rma: str | None,
              document_key: str | None = None, **details: Any) -> None:
        if self._bus is not None:
            self._bus.emit(kind, severity, message, org=org, rma=rma, document_key=document_key, details=details)
