"""The dashboard's "Waiting for approval" card over a real SQLite database and the app's services.

Requests are made through the services as a maker would; the card lists them, refuses (disabled
buttons) to let the maker decide their own, and a second person's Reject — the note typed into
the dialog — goes through ``ApprovalService`` on a worker thread and is audited. Pictures of the
card (light and dark, small and large window) are written when ``MAKERCHECKER_SHOTS`` names a folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from desktop.services.admin import approvals
from desktop.services.admin.approvals import ApprovalKind, ApprovalStatus
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.money import Money
from desktop.services.store.models import ApprovalRequest, Platform
from desktop.views.pages.dashboard import DashboardPage
from desktop.views.theme import ThemeManager, ThemeMode
from tests.helpers.dashboard import ADMIN, NOW, seed
from tests.helpers.gui import page_context
from tests.helpers.worlds import NoSteps, World

MAKER = Actor("olga", Role.OPERATOR)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with World(f"sqlite:///{tmp_path / 'dash.sqlite3'}", tmp_path, clock=ManualClock(NOW)) as w:
        scheduler = w.new_scheduler(NoSteps(), worker_id="dash-approvals", actor=ADMIN)
        seed(w.db)
        seed(w.db, code="KIWI-NZ", platform=Platform.XERO)
        scheduler.start(["ACME-US", "KIWI-NZ"])
        with w.db.write_session() as s:
            approvals.request(s, w.clock, MAKER, "ACME-US", ApprovalKind.MANUAL_ENTRY, "RMA-1042",
                              "Record RMA-1042 by hand (queued), refund 1,250.00 USD", {},
                              amount=Money(Decimal("1250.00"), "USD"), home_amount=Money(Decimal("1250.00"), "USD"))
            approvals.request(s, w.clock, ADMIN, "KIWI-NZ", ApprovalKind.MAPPING, "mapping_set:KIWI-NZ:v3",
                              "KIWI-NZ mapping version 3 saved (2 changed)", {"version": 3})
        yield w


def _open(qtbot, world: World, settings: QSettings, actor: Actor) -> DashboardPage:  # type: ignore[no-untyped-def]
    page = DashboardPage(page_context(world, settings, actor=actor, user=actor.username))
    qtbot.addWidget(page)
    page.resize(1280, 1100)
    page.show()
    qtbot.waitUntil(lambda: page.data is not None and not page.loading and len(page.approvals_card.rows) == 2,
                    timeout=5000)
    return page


def test_the_card_lists_requests_and_a_second_person_rejects_with_a_note(  # type: ignore[no-untyped-def]
        qtbot, world: World, settings: QSettings) -> None:
    page = _open(qtbot, world, settings, ADMIN)
    card = page.approvals_card
    assert card.title.text() == "Waiting for approval (2)"
    assert [card.table.item(r, 1).text() for r in range(2)] == ["ACME-US", "KIWI-NZ"]
    assert card.table.item(0, 3).text() == "1,250.00 USD"

    card.table.selectRow(1)  # alice's own mapping request: she may not decide it
    assert not card.approve_button.isEnabled() and "second person" in card.approve_button.toolTip()
    card.table.selectRow(0)
    assert card.reject_button.isEnabled()
    card.reject_button.click()
    assert card.dialog is not None and card.dialog.isVisible()
    card.dialog.setTextValue("not this month")
    card.dialog.accept()

    qtbot.waitUntil(lambda: len(card.rows) == 1, timeout=5000)
    [left] = card.rows
    assert left.kind is ApprovalKind.MAPPING
    with world.db.session() as s:
        rows = {r.target: r for r in s.scalars(sa.select(ApprovalRequest))}
    assert rows["RMA-1042"].status is ApprovalStatus.REJECTED and rows["RMA-1042"].note == "not this month"
    assert (ADMIN.username, "approval.rejected", f"approval:{rows['RMA-1042'].id}") in world.audit()


def test_the_card_paints_in_both_themes_and_sizes(qtbot, world: World, settings: QSettings,  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:
    """The card renders at a small and a large window in light and dark (the PNGs, in ``tmp_path``,
    are what a reviewer looks at)."""
    from PySide6.QtGui import QImage

    folder = tmp_path
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme = ThemeManager(app)
    page = _open(qtbot, world, settings, Actor("oscar", Role.OPERATOR))
    page.approvals_card.table.selectRow(0)
    for mode in (ThemeMode.LIGHT, ThemeMode.DARK):
        theme.set_mode(mode)
        for name, (w, h) in (("small", (960, 700)), ("large", (1600, 1200))):
            page.resize(w, h)  # a visible widget is laid out at once; grab() paints it
            page.approvals_card.grab().save(str(Path(folder) / f"approvals-card-{name}-{mode.value}.png"), "PNG")
            page.grab().save(str(Path(folder) / f"dashboard-{name}-{mode.value}.png"), "PNG")
            shot = QImage(str(Path(folder) / f"dashboard-{name}-{mode.value}.png"))
            assert (shot.width(), shot.height()) == (w, h)
            card = QImage(str(Path(folder) / f"approvals-card-{name}-{mode.value}.png"))
            assert card.width() > 0 and card.height() > 0
