"""PostingSettings over SQLite and PostgreSQL: each of the four posting settings is set by an admin
(stored where OrgSettings reads it, audited as ``settings.<setting>_set`` with the previous and the new
value), refused for anyone else and for a value it does not have, and not audited when unchanged.
The mapping's "no Store credit liability rule" answer the set command's note relies on."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import pytest
import sqlalchemy as sa

from desktop.services.admin.org_settings import PostingSettings, parse_setting, parse_value
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.domain import (
    POSTING_SETTINGS,
    ClosedPeriodPolicy,
    Component,
    FeeTreatment,
    OrgSettings,
    PostingMode,
    StoreCreditTreatment,
)
from desktop.services.core.errors import NeedsPersonError, PermissionDenied
from desktop.services.mapping.model import Rule
from desktop.services.mapping.service import MappingService
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog, Organization, Platform
from desktop.services.store.testing import make_org

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADMIN = Actor("alice", Role.ADMIN)
#: each setting and the value that is not its default
CHANGES: dict[str, StrEnum] = {"posting_mode": PostingMode.DAILY_SUMMARY, "fee_treatment": FeeTreatment.NEGATIVE_LINE,
                               "closed_period": ClosedPeriodPolicy.FIRST_OPEN_DAY,
                               "store_credit": StoreCreditTreatment.LIABILITY}


def _setup(db: Database) -> PostingSettings:
    with db.write_session() as s:
        make_org(s, code="ACME-US", platform=Platform.QBO, home_currency="USD")
        make_org(s, code="KIWI-NZ", platform=Platform.XERO, home_currency="NZD", timezone="Pacific/Auckland")
    return PostingSettings(db, ManualClock(T0))


def _stored(db: Database, code: str) -> OrgSettings:
    with db.session() as s:
        return OrgSettings.from_json(s.scalars(sa.select(Organization).where(Organization.code == code)).one().settings)


def _audit(db: Database) -> list[tuple[str, str, str | None, dict[str, object]]]:
    with db.session() as s:
        rows = s.scalars(sa.select(AuditLog).where(AuditLog.action.like("settings.%")).order_by(AuditLog.seq))
        return [(a.action, a.actor, a.target, dict(a.details or {})) for a in rows]


@pytest.mark.parametrize("setting", list(CHANGES))
def test_an_admin_sets_each_setting_stored_and_audited_once(db: Database, setting: str) -> None:
    service = _setup(db)
    default = getattr(OrgSettings(), setting)
    assert service.set(ADMIN, "KIWI-NZ", setting, CHANGES[setting]) is default  # the previous value
    assert getattr(_stored(db, "KIWI-NZ"), setting) is CHANGES[setting]
    assert getattr(_stored(db, "ACME-US"), setting) is default
    others = {n for n in CHANGES if n != setting}
    assert all(getattr(_stored(db, "KIWI-NZ"), n) is getattr(OrgSettings(), n) for n in others)
    assert _audit(db) == [(f"settings.{setting}_set", "alice", "KIWI-NZ",
                           {setting: CHANGES[setting].value, "previous": default.value})]
    # the same value again: nothing changes, nothing is audited
    assert service.set(ADMIN, "KIWI-NZ", setting, CHANGES[setting]) is CHANGES[setting]
    assert len(_audit(db)) == 1
    assert next(c for c in service.choices() if c.code == "KIWI-NZ").value(setting) is CHANGES[setting]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_anyone_but_an_admin_is_refused_for_every_setting(db: Database, role: Role) -> None:
    service = _setup(db)
    for setting, value in CHANGES.items():
        with pytest.raises(PermissionDenied):
            service.set(Actor("olivia", role), "ACME-US", setting, value)
    assert _stored(db, "ACME-US") == OrgSettings()
    assert _audit(db) == []


def test_a_wrong_value_setting_or_organization_is_refused_and_nothing_changes(db: Database) -> None:
    service = _setup(db)
    with pytest.raises(NeedsPersonError) as wrong:
        service.set(ADMIN, "ACME-US", "store_credit", "sometimes")
    assert "use liability or receivable" in wrong.value.user_message()
    with pytest.raises(NeedsPersonError) as wrong_setting:
        service.set(ADMIN, "ACME-US", "colour", "blue")
    assert "closed_period" in wrong_setting.value.user_message()
    with pytest.raises(NeedsPersonError, match="There is no organization NOPE"):
        service.set(ADMIN, "NOPE", "fee_treatment", FeeTreatment.NEGATIVE_LINE)
    assert _stored(db, "ACME-US") == OrgSettings() and _audit(db) == []


def test_several_settings_at_once_audit_only_what_changed(db: Database) -> None:
    service = _setup(db)
    before = service.set_many(ADMIN, "ACME-US", {"store_credit": "liability", "fee_treatment": "negative_line",
                                                 "posting_mode": PostingMode.PER_RETURN})
    assert before == {"store_credit": StoreCreditTreatment.RECEIVABLE, "fee_treatment": FeeTreatment.SEPARATE_JOURNAL,
                      "posting_mode": PostingMode.PER_RETURN}
    assert [a[0] for a in _audit(db)] == ["settings.store_credit_set", "settings.fee_treatment_set"]
    stored = _stored(db, "ACME-US")
    assert (stored.store_credit, stored.fee_treatment) == (StoreCreditTreatment.LIABILITY, FeeTreatment.NEGATIVE_LINE)


def test_the_table_parses_kebab_values_and_the_screens_words() -> None:
    values = [v for s in POSTING_SETTINGS.values() for v in s.choices]
    assert len({v.value for v in values}) == len(values)  # the Settings page keys its radios by value
    assert set(POSTING_SETTINGS) == {"posting_mode", "fee_treatment", "closed_period", "store_credit",
                                     "goods_posting", "damaged_goods", "return_to_vendor"}
    for setting in POSTING_SETTINGS.values():
        assert parse_setting(setting.kebab) is setting
        assert set(setting.choices) == set(setting.enum) == set(setting.explanations)
        for value, words in setting.choices.items():
            assert parse_value(setting, value.value.replace("_", "-")) is value
            assert parse_value(setting, words) is value
    with pytest.raises(NeedsPersonError) as wrong:
        parse_value(POSTING_SETTINGS["posting_mode"], "weekly")
    assert "use daily-summary or per-return" in wrong.value.user_message()


def test_the_mapping_says_when_it_has_no_store_credit_liability_rule(db: Database) -> None:
    _setup(db)
    mapping = MappingService(db, ManualClock(T0))
    assert mapping.missing_rule("ACME-US", Component.STORE_CREDIT) == \
        "ACME-US has no mapping yet, so no “Store credit liability” rule"
    mapping.save("ACME-US", [Rule(Component.REFUND, account_id="35")], ADMIN, "refunds only")
    assert mapping.missing_rule("ACME-US", Component.STORE_CREDIT) == \
        "ACME-US's active mapping has no “Store credit liability” rule"
    mapping.save("ACME-US", [Rule(Component.REFUND, account_id="35"), Rule(Component.STORE_CREDIT, account_id="90")],
                 ADMIN, "and store credit")
    assert mapping.missing_rule("ACME-US", Component.STORE_CREDIT) is None
