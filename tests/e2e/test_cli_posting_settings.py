"""``returns-ledger settings`` for all four posting settings: ``show`` lists them, an admin's
``set --org ORG store-credit liability`` reaches OrgSettings (with a note while the mapping has no
Store credit liability rule), a wrong value is refused listing the valid ones (exit 2), a viewer is
refused (exit 3) and nothing changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.admin.users import UserService
from desktop.services.auth.roles import Role
from desktop.services.core.clock import SystemClock
from desktop.services.core.domain import POSTING_SETTINGS, FeeTreatment, OrgSettings, StoreCreditTreatment
from desktop.services.core.identity import os_login
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog, Organization, Platform
from desktop.services.store.testing import make_org
from tests.helpers.cli import run_cli_here


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A single-workstation installation whose admin is the OS account running the test."""
    url = f"sqlite:///{tmp_path / 'returns-ledger.sqlite3'}"
    upgrade(url)
    database = Database(url)
    with database.write_session() as s:
        make_org(s, code="ACME-US", platform=Platform.QBO, home_currency="USD")
    UserService(database, SystemClock()).current_actor(os_login())  # the first person: the admin
    yield database
    database.dispose()


def _cli(db: Database, *args: str) -> tuple[int, str, str]:
    done = run_cli_here("settings", *args, "--db", db.url)
    return done.returncode, done.stdout, done.stderr


def _stored(db: Database) -> OrgSettings:
    with db.session() as s:
        return OrgSettings.from_json(s.scalars(sa.select(Organization).where(Organization.code == "ACME-US")).one()
                                     .settings)


def _changes(db: Database) -> list[str]:
    with db.session() as s:
        return [a.action for a in s.scalars(sa.select(AuditLog).where(AuditLog.action.like("settings.%")))]


def test_show_lists_all_four_and_an_admin_sets_store_credit_to_liability(db: Database) -> None:
    code, out, err = _cli(db, "show", "--org", "ACME-US")
    assert code == 0, err
    assert out.splitlines() == [
        "ACME-US: Posting mode: Documents per return (per-return)",
        "ACME-US: Fees withheld: Separate journal (separate-journal)",
        "ACME-US: Closed period: Hold for a person (quarantine)",
        "ACME-US: Store credit: Customer credit (Accounts Receivable) (receivable)",
        "ACME-US: Returned goods: No inventory or cost of goods (off)",
        "ACME-US: Damaged goods: Write off at cost (write-off)",
        "ACME-US: Goods returned to the vendor: No vendor credit (nothing)"]
    code, out, err = _cli(db, "set", "--org", "ACME-US", "store-credit", "liability")
    assert code == 0, err
    assert out.strip() == "ACME-US: Store credit: Store credit liability account (liability)"
    assert "Note: ACME-US has no mapping yet, so no “Store credit liability” rule" in err and "Mappings page" in err
    assert _stored(db).store_credit is StoreCreditTreatment.LIABILITY
    code, out, err = _cli(db, "set", "--org", "ACME-US", "fee-treatment", "negative-line", "--json")
    assert code == 0, err
    assert json.loads(out) == [{"org": "ACME-US", **{n: getattr(_stored(db), n).value for n in POSTING_SETTINGS}}]
    assert _stored(db).fee_treatment is FeeTreatment.NEGATIVE_LINE and "Note" not in err
    assert _changes(db) == ["settings.store_credit_set", "settings.fee_treatment_set"]


def test_a_wrong_value_is_refused_listing_the_valid_ones(db: Database) -> None:
    code, _out, err = _cli(db, "set", "--org", "ACME-US", "store-credit", "gift-card")
    assert code == 2, err
    assert "“gift-card” is not a store-credit choice" in err and "use liability or receivable" in err
    assert "Traceback" not in err
    code, _out, err = _cli(db, "set", "--org", "ACME-US", "colour", "blue")
    assert code == 2 and "closed-period" in err and "store-credit" in err and "Traceback" not in err
    assert _stored(db) == OrgSettings() and _changes(db) == []


def test_a_viewer_is_refused_and_nothing_changes(db: Database) -> None:
    users = UserService(db, SystemClock())
    me = os_login()
    boss = users.add(users.current_actor(me), "boss", "Boss", Role.ADMIN).actor
    users.change_role(boss, me, Role.VIEWER)
    code, _out, err = _cli(db, "set", "--org", "ACME-US", "posting-mode", "daily-summary")
    assert code == 3, err
    assert f"{me} is a viewer and may not manage settings" in err and "Traceback" not in err
    assert _stored(db) == OrgSettings() and _changes(db) == []
