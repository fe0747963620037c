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


def visible_text(root: Any) -> str:
    """Every piece of text a person can see in ``root``: labels, buttons, combo items, line edits,
    and every cell and column heading of the tables shown (one line each)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QComboBox, QLabel, QLineEdit, QWidget

    out: list[str] = []
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisibleTo(root) and w is not root:
            continue
        if isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
        elif isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())]
        elif isinstance(w, QLineEdit):
            out += [w.text(), w.placeholderText()]
        elif isinstance(w, QAbstractItemView) and w.model() is not None:
            m = w.model()
            out += [str(m.headerData(c, Qt.Orientation.Horizontal) or "") for c in range(m.columnCount())]
            out += [str(m.index(r, c).data() or "") for r in range(m.rowCount()) for c in range(m.columnCount())]
    return "\n".join(t for t in out if t)
