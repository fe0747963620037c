"""The mapping editor's world (and the screenshot tour's): no mocks.

A SQLite file migrated by Alembic; organizations and their RMS profiles and returns ingested from
the sandbox's RMS emulator over HTTP; each demo ledger's chart of accounts, tax codes, items and
tracking read over HTTP by the app's own connectors (OAuth consent through the sandbox, tokens in
memory only, so no keyring is needed) and stored in the reference cache the way a connection
refresh does. Built once per module into a template file (:func:`build_template`) and copied per
test (:func:`mapping_world`). Imports Qt for :func:`open_page`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop.services.auth.platforms import Platform
from desktop.services.connections.refcache import store_reference_data
from desktop.services.core.clock import ManualClock
from desktop.services.core.enums import Platform as StorePlatform
from desktop.services.store.models import Organization
from desktop.services.store.testing import T0, make_connection
from desktop.views.pages.mappings import MappingsPage
from desktop.views.theme import ThemeManager
from tests.helpers.gui import page_context
from tests.helpers.sandbox import ACME_REALM, KIWI_TENANT, SandboxHandle, memory_connection
from tests.helpers.worlds import ADMIN, World

#: The demo organizations this world sets up: code → (platform, company id in the sandbox).
ORGS = {"ACME-US": (Platform.QBO, ACME_REALM), "KIWI-NZ": (Platform.XERO, KIWI_TENANT)}


def build_template(path: Path, sandbox: SandboxHandle) -> None:
    """Write the world's database to ``path`` (the sandbox must be at its seed)."""
    with World(f"sqlite:///{path}", path.parent, sandbox=sandbox, clock=ManualClock(T0, tick=timedelta(seconds=1)),
               apps=False) as world:
        world.ingest.ensure_organizations(world.rms, platforms={code: StorePlatform(p.value)
                                                                for code, (p, _c) in ORGS.items()})
        for code, (platform, company) in ORGS.items():
            world.ingest.pull(code, world.rms)
            conn = memory_connection(sandbox.info, platform, company).connector
            with world.db.write_session() as s:
                org = s.query(Organization).filter_by(code=code).one()
                connection_id = make_connection(s, org, remote_id=company).id
            store_reference_data(world.db, connection_id, conn.company_info(), conn.reference_data(), T0)


@contextmanager
def mapping_world(template: Path, directory: Path) -> Iterator[World]:
    """One test's copy of the template: a world a month after T0 whose clock ticks a second per reading."""
    path = directory / "app.sqlite3"
    shutil.copyfile(template, path)
    with World(f"sqlite:///{path}", directory, clock=ManualClock(T0 + timedelta(days=30),
                                                                 tick=timedelta(seconds=1))) as world:
        yield world


def account(world: World, org: str, type_: str, name: str | None = None) -> str:
    """The id of an active account of ``type_`` (and ``name``, if given) in ``org``'s chart."""
    snap = world.mapping.snapshot(org)
    assert snap is not None
    return next(a.remote_id for a in snap.accounts.values() if a.type == type_ and a.active
                and (name is None or a.name == name))


def open_page(qtbot: QtBot, world: World, settings: QSettings, theme: ThemeManager, actor: Any = ADMIN,
              org: str = "ACME-US") -> MappingsPage:
    """The Mappings page, shown, with ``org``'s editor loaded (no ledger connection behind it)."""
    ctx = page_context(world, settings, actor=actor, user="alice", theme=theme, bus=False, connections=False)
    page = MappingsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1280, 900)
    page.show()
    qtbot.waitExposed(page)
    assert page.actions_ is not None and page.editor is not None
    qtbot.waitUntil(lambda: page.editor is not None and page.editor.bundle is not None
                    and page.editor.bundle.org == "ACME-US", timeout=10_000)
    if org != "ACME-US":
        with qtbot.waitSignal(page.actions_.loaded, timeout=10_000):
            page.actions_.load(org)
    return page
