"""Settings → Closed period over a real database: an admin's choice reaches the organization's
OrgSettings (and the audit log), a choice made with the CLI shows on the page, non-admins see the
controls disabled with the reason, and the "period closed" messages quote the control's own words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pytestqt.qtbot import QtBot

from desktop.services.admin.users import UserService
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.domain import (
    CLOSED_PERIOD_CHOICES,
    CLOSED_PERIOD_LABEL,
    ClosedPeriodPolicy,
    closed_period_fix,
)
from desktop.services.core.identity import os_login
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog
from desktop.views.context import ShellContext
from desktop.views.settings.posting_choices import PostingChoicesCard
from tests.helpers.cli import run_cli_here
from tests.helpers.gui import visible_text
from tests.helpers.settings_page import T0, posting_card, stored_settings, two_organizations


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with two_organizations(tmp_path / "closed.sqlite3") as db:
        yield db


def _card(qtbot: QtBot, shell_context: ShellContext, database: Database, actor: Actor) -> PostingChoicesCard:
    return posting_card(qtbot, shell_context, database, actor, size=(1200, 1400))


def _stored(database: Database, code: str) -> ClosedPeriodPolicy:
    return stored_settings(database, code).closed_period


def test_an_admins_choice_reaches_the_organizations_settings_and_is_audited(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    card = _card(qtbot, shell_context, database, Actor("alice", Role.ADMIN))
    # The control is labelled with the words the messages quote, and explains both choices.
    text = visible_text(card)
    assert CLOSED_PERIOD_LABEL in text.splitlines()
    assert all(words in text.splitlines() for words in CLOSED_PERIOD_CHOICES.values())
    assert "needs a person" in text and "first day after the closed period" in text
    assert card.org_box.currentData() == "ACME-US"
    assert card.radios[ClosedPeriodPolicy.QUARANTINE].isChecked()
    assert not card.save_button.isEnabled() and card.save_button.toolTip() == "Nothing changed"
    card.org_box.setCurrentIndex(card.org_box.findData("KIWI-NZ"))
    card.radios[ClosedPeriodPolicy.FIRST_OPEN_DAY].click()
    assert card.save_button.isEnabled()
    card.save_button.click()
    qtbot.waitUntil(lambda: card.status.text().startswith("Saved"), timeout=5000)
    assert card.status.text() == f"Saved: {CLOSED_PERIOD_LABEL} for KIWI-NZ is now “First open day”."
    assert _stored(database, "KIWI-NZ") is ClosedPeriodPolicy.FIRST_OPEN_DAY
    assert _stored(database, "ACME-US") is ClosedPeriodPolicy.QUARANTINE
    with database.session() as s:
        entries = [(a.action, a.actor, a.target) for a in s.scalars(sa.select(AuditLog).order_by(AuditLog.seq))]
    assert ("settings.closed_period_set", "alice", "KIWI-NZ") in entries
    qtbot.waitUntil(lambda: not card.busy and not card.save_button.isEnabled(), timeout=5000)


def test_a_choice_made_with_the_cli_shows_on_the_page(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    UserService(database, ManualClock(T0)).current_actor(os_login())  # the first person: the admin
    done = run_cli_here("settings", "set", "--org", "ACME-US", "closed-period", "first-open-day",
                        "--db", database.url)
    assert done.returncode == 0, done.stderr
    card = _card(qtbot, shell_context, database, Actor("alice", Role.ADMIN))
    assert card.org_box.currentData() == "ACME-US"
    assert card.radios[ClosedPeriodPolicy.FIRST_OPEN_DAY].isChecked()
    assert not card.radios[ClosedPeriodPolicy.QUARANTINE].isChecked()


def test_an_operator_sees_the_choice_but_cannot_change_it(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    card = _card(qtbot, shell_context, database, Actor("olivia", Role.OPERATOR))
    assert card.radios[ClosedPeriodPolicy.QUARANTINE].isChecked()
    for widget in (card.radios[ClosedPeriodPolicy.QUARANTINE], card.radios[ClosedPeriodPolicy.FIRST_OPEN_DAY]):
        assert not widget.isEnabled()
        assert widget.toolTip() == f"olivia is an operator: only an admin can change “{CLOSED_PERIOD_LABEL}”"


def test_the_period_closed_messages_quote_the_controls_words() -> None:
    fix = closed_period_fix("KIWI-NZ")
    assert f"“{CLOSED_PERIOD_LABEL}” to “{CLOSED_PERIOD_CHOICES[ClosedPeriodPolicy.FIRST_OPEN_DAY]}”" in fix
    assert "Settings page" in fix and "settings set --org KIWI-NZ closed-period first-open-day" in fix
