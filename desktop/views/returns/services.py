"""The services the Returns and Manual entry pages use, taken from the shell context.

The composition root may hand ready-made services in ``context.extras`` (``returns_query``,
``manual_entry``); otherwise they are built here from the context's database, clock, bus, mapping
and connections — the same Qt-free classes either way. No database: the pages show their empty
state.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.services.auth.roles import Actor, Role
from desktop.services.manual import ManualEntryService
from desktop.services.returns_query import ReturnsQuery
from desktop.views.context import ShellContext


@dataclass(frozen=True)
class ReturnServices:
    query: ReturnsQuery
    manual: ManualEntryService
    actor: Actor


def services_for(context: ShellContext) -> ReturnServices | None:
    """The pages' services, or None when the shell has no database (a bare window)."""
    if context.database is None:
        return None
    query = context.extras.get("returns_query") or ReturnsQuery(context.database)
    manual = context.extras.get("manual_entry")
    if manual is None:
        from desktop.services.clock import SystemClock
        from desktop.services.mapping.service import MappingService

        clock = context.clock or SystemClock()
        mapping = context.mapping or MappingService(context.database, clock, context.bus)
        manual = ManualEntryService(context.database, clock, context.bus, mapping, context.connections)
    actor = context.actor
    if actor is None:
        try:
            role = Role(context.role)
        except ValueError:
            role = Role.VIEWER
        actor = Actor(context.user, role)
    return ReturnServices(query, manual, actor)
