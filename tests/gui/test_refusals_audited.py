"""A refusal in the window is audited like one on the command line: the app's recorder sees every
``PermissionDenied`` a background operation ends in, and writes an ``access.refused`` entry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.services.admin.fx_rates import FxRateSettings
from desktop.services.admin.users import REFUSED, UserService
from desktop.services.auth.roles import Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import PermissionDenied
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog
from desktop.views.ops import record_refusals_with, run_in_background

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    upgrade(url)
    db = Database(url)
    yield db
    db.dispose()


def test_a_viewers_refused_operation_in_the_window_is_audited(qtbot: QtBot, database: Database) -> None:
    users = UserService(database, ManualClock(T0))
    admin = users.current_actor("alice")
    users.add(admin, "victor", "Victor Viewer", Role.VIEWER)
    viewer = users.current_actor("victor")
    parent = QWidget()
    qtbot.addWidget(parent)
    failures: list[BaseException] = []
    record_refusals_with(lambda exc: users.record_refusal(exc, via="app"))
    try:
        run_in_background(parent, lambda _p: FxRateSettings(database, ManualClock(T0)).set(
            viewer, "KIWI-NZ", "AUD", date(2026, 1, 1), Decimal("1.09")), on_success=lambda _r: None,
            on_failure=failures.append, label="set a rate")
        qtbot.waitUntil(lambda: bool(failures), timeout=10000)
    finally:
        record_refusals_with(None)
    assert isinstance(failures[0], PermissionDenied) and "needs the admin role" in str(failures[0])
    with database.session() as s:
        entry = s.scalars(sa.select(AuditLog).order_by(AuditLog.seq.desc()).limit(1)).one()
    assert (entry.actor, entry.action, entry.target) == ("victor", REFUSED, "manage_settings")
    assert entry.details == {"role": "viewer", "needed": "admin", "via": "app"}
