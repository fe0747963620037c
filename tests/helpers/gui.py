"""Pages over a :class:`~tests.helpers.worlds.World`: the context the app's shell would give them.

The services are the GUI composition root's own (``desktop.app.view_services``) over the world's
database, clock, bus, connections, mapping and scheduler, so a page talks to exactly what the app
wires. Imports Qt: only the GUI tests use this module.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings

from desktop.app import view_services
from desktop.services.auth.roles import Actor
from desktop.views.context import ShellContext
from tests.helpers.worlds import World


def page_context(world: World, settings: QSettings, *, actor: Actor | None, user: str | None = None,
                 theme: Any = None, bus: bool = True, connections: bool = True) -> ShellContext:
    """What the shell hands a page for ``actor`` (``connections=False``: no ledger reachable)."""
    services = view_services(world.db, world.clock, world.bus, mapping=world.mapping, scheduler=world.scheduler,
                             connections=world.connections if connections else None, vault=world.vault)
    return ShellContext(settings=settings, database_url=world.db_url, data_dir=world.data_dir,
                        bus=world.bus if bus else None, theme=theme, actor=actor,
                        user=user or (actor.username if actor else ""), services=services)
