"""Settings → Posting choices over a real database: one Save stores store credit and fees withheld
together (two audit entries, the other settings untouched) and says the mapping still needs a Store
credit liability rule; an operator sees every group disabled with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pytestqt.qtbot import QtBot

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.domain import (
    POSTING_SETTINGS,
    ClosedPeriodPolicy,
    FeeTreatment,
    OrgSettings,
    PostingMode,
    StoreCreditTreatment,
)
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog
from desktop.views.context import ShellContext
from desktop.views.settings.posting_choices import PostingChoicesCard
from tests.helpers.gui import visible_text
from tests.helpers.settings_page import posting_card, stored_settings, two_organizations


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with two_organizations(tmp_path / "choices.sqlite3") as db:
        yield db


def _card(qtbot: QtBot, shell_context: ShellContext, database: Database, actor: Actor) -> PostingChoicesCard:
    return posting_card(qtbot, shell_context, database, actor, size=(1024, 700))


_stored = stored_settings


def test_one_save_stores_store_credit_and_fees_withheld_with_two_audit_entries(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    card = _card(qtbot, shell_context, database, Actor("alice", Role.ADMIN))
    lines = visible_text(card).splitlines()
    for setting in POSTING_SETTINGS.values():  # every group, with its label and its choices' words
        assert setting.label in lines and all(words in lines for words in setting.choices.values())
    card.org_box.setCurrentIndex(card.org_box.findData("KIWI-NZ"))
    assert card.radios[StoreCreditTreatment.RECEIVABLE].isChecked()
    assert card.radios[FeeTreatment.SEPARATE_JOURNAL].isChecked()
    card.radios[StoreCreditTreatment.LIABILITY].click()
    card.radios[FeeTreatment.NEGATIVE_LINE].click()
    assert card.save_button.isEnabled()
    card.save_button.click()
    qtbot.waitUntil(lambda: card.status.text().startswith("Saved"), timeout=5000)
    assert card.status.text().startswith(
        "Saved for KIWI-NZ: Fees withheld is now “Negative line on the credit”; Store credit is now “Store credit "
        "liability account”. Note: KIWI-NZ has no mapping yet, so no “Store credit liability” rule")
    stored = _stored(database, "KIWI-NZ")
    assert (stored.store_credit, stored.fee_treatment) == (StoreCreditTreatment.LIABILITY, FeeTreatment.NEGATIVE_LINE)
    assert (stored.posting_mode, stored.closed_period) == (PostingMode.PER_RETURN, ClosedPeriodPolicy.QUARANTINE)
    assert _stored(database, "ACME-US") == OrgSettings()
    with database.session() as s:
        entries = [(a.action, a.actor, a.target, a.details) for a in s.scalars(
            sa.select(AuditLog).where(AuditLog.action.like("settings.%")).order_by(AuditLog.seq))]
    assert entries == [
        ("settings.fee_treatment_set", "alice", "KIWI-NZ", {"fee_treatment": "negative_line",
                                                            "previous": "separate_journal"}),
        ("settings.store_credit_set", "alice", "KIWI-NZ", {"store_credit": "liability", "previous": "receivable"})]
    qtbot.waitUntil(lambda: not card.busy and not card.save_button.isEnabled(), timeout=5000)
    assert card.save_button.toolTip() == "Nothing changed"
    assert card.radios[StoreCreditTreatment.LIABILITY].isChecked()


def test_an_operator_sees_every_group_disabled_with_the_reason(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    card = _card(qtbot, shell_context, database, Actor("olivia", Role.OPERATOR))
    for setting in POSTING_SETTINGS.values():
        for value in setting.choices:
            assert not card.radios[value].isEnabled()
            assert card.radios[value].toolTip() == f"olivia is an operator: only an admin can change “{setting.label}”"
    assert not card.save_button.isEnabled()
    assert card.save_button.toolTip() == "olivia is an operator: only an admin can change the posting choices"
