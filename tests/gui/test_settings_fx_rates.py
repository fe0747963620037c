"""Settings → Exchange rates over a real database: admins enter and remove rates, wrong ones say why, viewers can't."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QDate, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.app import view_services
from desktop.services.admin.fx_rates import FxRateSettings
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog, Platform
from desktop.services.store.testing import make_connection, make_org
from desktop.views.context import ShellContext
from desktop.views.pages.settings import SettingsPage
from desktop.views.settings.fx_model import RateRow, rate_rows
from desktop.views.settings.fx_rates import FxRatesSection

# 12:00 UTC is already the next day in Auckland: the form's default date is the organization's own day.
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'fx.sqlite3'}"
    upgrade(url)
    db = Database(url)
    with db.write_session() as s:
        make_org(s, code="ACME", platform=Platform.QBO, home_currency="USD")
        kiwi = make_org(s, code="KIWI-NZ", platform=Platform.XERO, home_currency="NZD", timezone="Pacific/Auckland")
        conn = make_connection(s, kiwi, remote_id="tenant-kiwi")
        conn.company = {"home_currency": "NZD", "currencies": ["AUD", "NZD", "USD"]}
    yield db
    db.dispose()


def _section(qtbot: QtBot, shell_context: ShellContext, database: Database, actor: Actor) -> FxRatesSection:
    """The real Settings page with the database and clock the app would hand it; returns its rates card."""
    shell_context.actor = actor
    shell_context.services = view_services(database, ManualClock(T0), None)
    page = SettingsPage(shell_context)
    qtbot.addWidget(page)
    page.resize(1200, 1400)
    page.show()
    section = page.fx_rates
    qtbot.waitUntil(lambda: section.org_box.count() == 2 and not section.busy, timeout=5000)
    return section


def _audit(database: Database) -> list[tuple[str, str | None]]:
    with database.session() as s:
        return [(a.action, a.target) for a in s.scalars(sa.select(AuditLog).order_by(AuditLog.seq))]


def _add(qtbot: QtBot, section: FxRatesSection, currency: str, day: QDate, rate: str) -> None:
    section.currency_box.setEditText(currency)
    section.from_edit.setDate(day)
    section.rate_edit.clear()
    qtbot.keyClicks(section.rate_edit, rate)
    qtbot.mouseClick(section.add_button, Qt.MouseButton.LeftButton)


def test_admin_adds_rates_through_the_form_and_they_are_stored(
        qtbot: QtBot, qtmodeltester: ModelTester, shell_context: ShellContext, database: Database) -> None:
    section = _section(qtbot, shell_context, database, Actor("alice", Role.ADMIN))
    rates = FxRateSettings(database, ManualClock(T0))
    # The Xero organization is picked first, its ledger's foreign currencies offered, its own day the default.
    assert section.org_box.currentData() == "KIWI-NZ"
    assert section.org_box.currentText() == "KIWI-NZ — KIWI-NZ Inc. (Xero, NZD)"
    assert [section.currency_box.itemText(i) for i in range(section.currency_box.count())] == ["AUD", "USD"]
    assert section.from_edit.date() == QDate(2026, 3, 2)
    assert section.model.headerData(3, Qt.Orientation.Horizontal) == "Rate (NZD per 1 unit)"
    assert section.status.text() == "No rates entered for KIWI-NZ yet."

    _add(qtbot, section, "aud", QDate(2026, 3, 1), "1.092418")
    qtbot.waitUntil(lambda: section.model.rowCount() == 1 and not section.busy, timeout=5000)
    assert rates.table("KIWI-NZ") == {"AUD": {"2026-03-01": "1.092418"}}
    assert section.status.text() == "Saved: from 2026-03-01, 1 AUD = 1.092418 NZD."
    assert section.rate_edit.text() == ""

    section.currency_box.setEditText("AUD")  # keyboard only: Enter in the rate field saves
    section.from_edit.setDate(QDate(2026, 4, 1))
    qtbot.keyClicks(section.rate_edit, "1.1001")
    qtbot.keyClick(section.rate_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: section.model.rowCount() == 2 and not section.busy, timeout=5000)
    qtmodeltester.check(section.model, force_py=True)
    shown = [[section.model.data(section.model.index(r, c)) for c in range(4)] for r in range(2)]
    assert shown == [["AUD", "2026-03-01", "2026-03-31", "1.092418"],
                     ["AUD", "2026-04-01", "until a later rate", "1.1001"]]
    _add(qtbot, section, "AUD", QDate(2026, 4, 1), "1.1002")  # the same day again replaces
    qtbot.waitUntil(lambda: section.status.text().startswith("Replaced"), timeout=5000)
    qtbot.waitUntil(lambda: not section.busy, timeout=5000)
    assert rates.table("KIWI-NZ")["AUD"] == {"2026-03-01": "1.092418", "2026-04-01": "1.1002"}
    assert _audit(database)[-3:] == [("settings.fx_rate_set", "KIWI-NZ")] * 3

    # Another organization shows its own (empty) table and home currency.
    section.org_box.setCurrentIndex(section.org_box.findData("ACME"))
    qtbot.waitUntil(lambda: section.model.rowCount() == 0 and not section.busy, timeout=5000)
    assert section.model.headerData(3, Qt.Orientation.Horizontal) == "Rate (USD per 1 unit)"
    assert section.currency_box.count() == 0 and section.currency_box.currentText() == ""


@pytest.mark.parametrize(("typed", "reason"), [
    ("-1", "An exchange rate must be greater than zero, not -1 — type the home-currency amount one foreign unit"),
    ("abc", "“abc” is not a number — type the rate like 0.915400"),
    ("", "“” is not a number"),
])
def test_a_wrong_rate_says_why_and_saves_nothing(
        qtbot: QtBot, shell_context: ShellContext, database: Database, typed: str, reason: str) -> None:
    section = _section(qtbot, shell_context, database, Actor("alice", Role.ADMIN))
    _add(qtbot, section, "AUD", QDate(2026, 3, 1), typed)
    assert reason in section.status.text()
    assert not section.busy  # refused before anything was sent to the database
    assert FxRateSettings(database, ManualClock(T0)).table("KIWI-NZ") == {}
    assert _audit(database) == []


def test_the_service_refuses_the_home_currency_and_an_unknown_code_inline(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    section = _section(qtbot, shell_context, database, Actor("alice", Role.ADMIN))
    _add(qtbot, section, "NZD", QDate(2026, 3, 1), "1")
    qtbot.waitUntil(lambda: "NZD is KIWI-NZ's home currency: it needs no rate" in section.status.text(), timeout=5000)
    _add(qtbot, section, "QQQ", QDate(2026, 3, 1), "1.2")
    qtbot.waitUntil(lambda: "QQQ is not an ISO 4217 currency code" in section.status.text(), timeout=5000)
    _add(qtbot, section, "AU", QDate(2026, 3, 1), "1.2")
    assert "three-letter ISO 4217 code" in section.status.text()
    qtbot.waitUntil(lambda: not section.busy, timeout=5000)
    assert FxRateSettings(database, ManualClock(T0)).table("KIWI-NZ") == {}


def test_remove_asks_first_then_forgets_the_selected_rate(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    rates = FxRateSettings(database, ManualClock(T0))
    admin = Actor("alice", Role.ADMIN)
    rates.set(admin, "KIWI-NZ", "AUD", date(2026, 1, 1), Decimal("1.09"))
    rates.set(admin, "KIWI-NZ", "USD", date(2026, 1, 1), Decimal("1.71"))
    section = _section(qtbot, shell_context, database, admin)
    qtbot.waitUntil(lambda: section.model.rowCount() == 2, timeout=5000)
    assert not section.remove_button.isEnabled() and section.remove_button.toolTip() == "Select a rate first"
    section.table.selectRow(1)
    assert section.remove_button.isEnabled()
    section.remove_button.click()
    box = section.confirm_box
    assert box is not None and "Remove KIWI-NZ's USD rate 1.71 from 2026-01-01?" in box.text()
    next(b for b in box.buttons() if b.text() == "Cancel").click()
    assert "USD" in rates.table("KIWI-NZ")
    section.remove_button.click()
    next(b for b in section.confirm_box.buttons() if b.text() == "Remove").click()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: section.model.rowCount() == 1 and not section.busy, timeout=5000)
    assert rates.table("KIWI-NZ") == {"AUD": {"2026-01-01": "1.09"}}
    assert section.status.text() == "Removed the USD rate from 2026-01-01."
    assert _audit(database)[-1] == ("settings.fx_rate_removed", "KIWI-NZ")


def test_a_rate_far_from_the_one_in_force_is_saved_only_once_confirmed(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    rates = FxRateSettings(database, ManualClock(T0))
    admin = Actor("alice", Role.ADMIN)
    rates.set(admin, "KIWI-NZ", "AUD", date(2026, 1, 1), Decimal("1.09"))
    section = _section(qtbot, shell_context, database, admin)
    qtbot.waitUntil(lambda: section.model.rowCount() == 1, timeout=5000)

    _add(qtbot, section, "AUD", QDate(2026, 3, 1), "10.9")  # a slipped decimal point
    qtbot.waitUntil(lambda: section.confirm_box is not None and section.confirm_box.isVisible(), timeout=5000)
    box = section.confirm_box
    assert box is not None and "900% above the rate in force (1.09)" in box.text()
    next(b for b in box.buttons() if b.text() == "Cancel").click()
    assert "Not saved" in section.status.text()
    assert rates.table("KIWI-NZ") == {"AUD": {"2026-01-01": "1.09"}}

    _add(qtbot, section, "AUD", QDate(2026, 3, 1), "1.5")
    qtbot.waitUntil(lambda: section.confirm_box is not box and section.confirm_box is not None
                    and section.confirm_box.isVisible(), timeout=5000)
    next(b for b in section.confirm_box.buttons() if b.text() == "Save this rate").click()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: section.model.rowCount() == 2 and not section.busy, timeout=5000)
    assert rates.table("KIWI-NZ")["AUD"] == {"2026-01-01": "1.09", "2026-03-01": "1.5"}


def test_a_viewer_sees_the_rates_but_cannot_change_them(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    FxRateSettings(database, ManualClock(T0)).set(Actor("alice", Role.ADMIN), "KIWI-NZ", "AUD", date(2026, 1, 1),
                                                   Decimal("1.09"))
    section = _section(qtbot, shell_context, database, Actor("victor", Role.VIEWER))
    qtbot.waitUntil(lambda: section.model.rowCount() == 1, timeout=5000)
    section.table.selectRow(0)
    assert section.org_box.isEnabled()  # looking at another organization's rates is fine
    for widget in (section.currency_box, section.from_edit, section.rate_edit, section.add_button,
                   section.remove_button):
        assert not widget.isEnabled()
        assert widget.toolTip() == "victor is a viewer: only an admin can enter exchange rates"
    section.add_rate()  # as if the button had been enabled: nothing happens
    assert not section.busy
    section.remove_rate(section.model.row_at(0))  # and the service refuses anyway
    qtbot.waitUntil(lambda: "may not manage settings" in section.status.text(), timeout=5000)
    assert FxRateSettings(database, ManualClock(T0)).table("KIWI-NZ") == {"AUD": {"2026-01-01": "1.09"}}


def test_without_a_database_the_section_explains(qtbot: QtBot, shell_context: ShellContext) -> None:
    page = SettingsPage(shell_context)
    qtbot.addWidget(page)
    page.show()
    assert page.fx_rates.status.text() == "Exchange rates are not available in this window."
    assert not page.fx_rates.add_button.isEnabled() and not page.fx_rates.org_box.isEnabled()
    assert page.fx_rates.add_button.toolTip() == "Exchange rates are not available in this window"


def test_rate_rows_end_the_day_before_the_next_rate() -> None:
    rows = rate_rows({"EUR": {"2026-02-01": "0.86", "2026-01-01": "0.85"}, "AUD": {"2026-03-01": "1.09"}})
    assert rows == [RateRow("AUD", date(2026, 3, 1), None, "1.09"),
                    RateRow("EUR", date(2026, 1, 1), date(2026, 1, 31), "0.85"),
                    RateRow("EUR", date(2026, 2, 1), None, "0.86")]
