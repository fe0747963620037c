"""The status bar's "Last sync" per organization, read from the Dashboard's one freshness source
(``DashboardService.last_sync``) — read again when a sync step finishes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktop.app import view_services
from desktop.services.core.clock import ManualClock
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import Organization, Platform, SyncRun, SyncRunStatus
from desktop.services.store.testing import make_connection, make_org
from desktop.views.context import ShellContext
from desktop.views.main_window import MainWindow

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_each_organizations_last_sync_is_in_the_status_bar(
        qtbot: QtBot, shell_context: ShellContext, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.sqlite3'}"
    upgrade(url)
    db = Database(url)
    with db.write_session() as s:
        for code, platform in (("ACME-US", Platform.QBO), ("KIWI-NZ", Platform.XERO), ("MAPLE-CA", Platform.QBO)):
            org = make_org(s, code=code, platform=platform)
            make_connection(s, org, remote_id=f"realm-{code}")
            if code == "ACME-US":
                at = datetime(2026, 11, 21, 9, 12, tzinfo=UTC)
            elif code == "KIWI-NZ":
                at = datetime(2026, 11, 20, 8, 1, tzinfo=UTC)
            else:
                continue  # MAPLE-CA has never synced
            s.add(SyncRun(organization_id=org.id, kind="push", started_at=at, finished_at=at,
                          status=SyncRunStatus.SUCCEEDED, counts={}))
    services = view_services(db, ManualClock(NOW), None)
    window = MainWindow(replace(shell_context, services=services))
    qtbot.addWidget(window)
    text = window.last_sync_label.findChild(QLabel, "status-sync")
    assert text is not None
    qtbot.waitUntil(lambda: text.text() == "Last sync: ACME-US 09:12 · KIWI-NZ 20 Nov 08:01 · +1 more",
                    timeout=5000)
    tip = window.last_sync_label.toolTip()
    assert tip.startswith("Most recent completed sync per organization (UTC):")
    dashboard = services.dashboard
    assert dashboard is not None
    acme = dashboard.last_sync("ACME-US")
    assert acme is not None and f"ACME-US: {acme.text}, 21 Nov 09:12 UTC" in tip
    assert "KIWI-NZ: " in tip and "20 Nov 08:01 UTC" in tip and "MAPLE-CA: not synced yet" in tip

    # MAPLE-CA syncs: the bar reads the source again when the step finishes.
    with db.write_session() as s:
        maple = s.scalars(sa.select(Organization.id).where(Organization.code == "MAPLE-CA")).one()
        at = datetime(2026, 11, 21, 9, 59, tzinfo=UTC)
        s.add(SyncRun(organization_id=maple, kind="push", started_at=at, finished_at=at,
                      status=SyncRunStatus.SUCCEEDED, counts={}))
    assert shell_context.bus is not None
    shell_context.bus.emit("sync.finished", "info", "push finished for MAPLE-CA", org="MAPLE-CA")
    qtbot.waitUntil(lambda: "MAPLE-CA: not synced yet" not in window.last_sync_label.toolTip(), timeout=5000)
    assert "MAPLE-CA: " in window.last_sync_label.toolTip() and "21 Nov 09:59 UTC" in window.last_sync_label.toolTip()
    window.close()
    db.dispose()
