"""The services the Returns and Manual entry pages use, picked from the shell context.

Both come ready-made from the composition root (``context.services.returns_query`` and
``.manual_entry``); a window without them (a bare window, no database) shows the pages' empty
state. The actor is the signed-in one, else one made from the context's user name and role.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.services.auth.roles import Actor, Role
from desktop.services.manual import ManualEntryService
from desktop.services.queries.returns import ReturnsQuery
from desktop.views.context import ShellContext


@dataclass(frozen=True)
class ReturnServices:
    query: ReturnsQuery
    manual: ManualEntryService
    actor: Actor


def services_for(context: ShellContext) -> ReturnServices | None:
    """The pages' services, or None when the shell has none (a bare window)."""
    query, manual = context.services.returns_query, context.services.manual_entry
    if query is None or manual is None:
        return None
    actor = context.actor
    if actor is None:
        try:
            role = Role(context.role)
        except ValueError:
            role = Role.VIEWER
        actor = Actor(context.user, role)
    return ReturnServices(query, manual, actor)
