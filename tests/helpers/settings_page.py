"""The Settings page's posting-choices card over a real SQLite database with two organizations
(ACME-US on QuickBooks, KIWI-NZ on Xero): build it for an actor, read back what was stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from pytestqt.qtbot import QtBot

from desktop.app import view_services
from desktop.services.auth.roles import Actor
from desktop.services.core.clock import ManualClock
from desktop.services.core.domain import OrgSettings
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import Organization, Platform
from desktop.services.store.testing import make_org
from desktop.views.context import ShellContext
from desktop.views.pages.settings import SettingsPage
from desktop.views.settings.posting_choices import PostingChoicesCard

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@contextmanager
def two_organizations(path: Path) -> Iterator[Database]:
    """A migrated SQLite database at ``path`` holding ACME-US (QuickBooks) and KIWI-NZ (Xero)."""
    url = f"sqlite:///{path}"
    upgrade(url)
    db = Database(url)
    with db.write_session() as s:
        make_org(s, code="ACME-US", platform=Platform.QBO, home_currency="USD")
        make_org(s, code="KIWI-NZ", platform=Platform.XERO, home_currency="NZD", timezone="Pacific/Auckland")
    try:
        yield db
    finally:
        db.dispose()


def posting_card(qtbot: QtBot, context: ShellContext, database: Database, actor: Actor, *,
                 size: tuple[int, int]) -> PostingChoicesCard:
    """The Settings page shown for ``actor`` at ``size``; its posting-choices card once loaded."""
    context.actor = actor
    context.services = view_services(database, ManualClock(T0), None)
    page = SettingsPage(context)
    qtbot.addWidget(page)
    page.resize(*size)
    page.show()
    card = page.posting_choices
    qtbot.waitUntil(lambda: card.org_box.count() == 2 and not card.busy, timeout=5000)
    return card


def stored_settings(database: Database, code: str) -> OrgSettings:
    """What the database holds for organization ``code``."""
    with database.session() as s:
        return OrgSettings.from_json(s.scalars(sa.select(Organization).where(Organization.code == code)).one().settings)
