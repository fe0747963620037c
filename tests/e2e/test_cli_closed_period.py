"""``returns-ledger settings show|set``: an admin sets "Closed period" for an organization, audited;
an operator or viewer is refused (exit 3) and nothing changes; a wrong value says what to type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.admin.org_settings import PostingSettings
from desktop.services.admin.users import UserService
from desktop.services.auth.roles import Role
from desktop.services.core.clock import SystemClock
from desktop.services.core.domain import CLOSED_PERIOD_LABEL, ClosedPeriodPolicy
from desktop.services.core.identity import os_login
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog, Platform
from desktop.services.store.testing import make_org
from tests.helpers.cli import run_cli_here


@dataclass
class Install:
    db: Database
    url: str
    users: UserService

    def cli(self, *args: str) -> tuple[int, str, str]:
        done = run_cli_here(*args, "--db", self.url)
        return done.returncode, done.stdout, done.stderr

    def audit(self) -> list[tuple[str, str | None, dict[str, object]]]:
        with self.db.session() as s:
            return [(a.action, a.target, dict(a.details or {}))
                    for a in s.scalars(sa.select(AuditLog).order_by(AuditLog.seq))]


@pytest.fixture
def install(tmp_path: Path) -> Iterator[Install]:
    """A single-workstation installation whose admin is the OS account running the test."""
    url = f"sqlite:///{tmp_path / 'returns-ledger.sqlite3'}"
    upgrade(url)
    db = Database(url)
    with db.write_session() as s:
        make_org(s, code="ACME-US", platform=Platform.QBO, home_currency="USD")
        make_org(s, code="KIWI-NZ", platform=Platform.XERO, home_currency="NZD", timezone="Pacific/Auckland")
    users = UserService(db, SystemClock())
    users.current_actor(os_login())  # the first person: the admin
    yield Install(db, url, users)
    db.dispose()


def test_an_admin_sets_first_open_day_and_it_is_stored_shown_and_audited(install: Install) -> None:
    code, out, err = install.cli("settings", "show")
    assert code == 0, err
    assert f"ACME-US: {CLOSED_PERIOD_LABEL}: Hold for a person (quarantine)" in out
    code, out, err = install.cli("settings", "set", "--org", "KIWI-NZ", "closed-period", "first-open-day")
    assert code == 0, err
    assert out.strip() == f"KIWI-NZ: {CLOSED_PERIOD_LABEL}: First open day (first-open-day)"
    settings = PostingSettings(install.db, SystemClock())
    assert settings.closed_period("KIWI-NZ") is ClosedPeriodPolicy.FIRST_OPEN_DAY
    assert settings.closed_period("ACME-US") is ClosedPeriodPolicy.QUARANTINE
    changes = [a for a in install.audit() if a[0] == "settings.closed_period_set"]
    assert changes == [("settings.closed_period_set", "KIWI-NZ",
                        {"closed_period": "first_open_day", "previous": "quarantine"})]
    # Setting it again changes nothing and audits nothing; --json gives the value.
    code, out, _err = install.cli("settings", "set", "--org", "KIWI-NZ", "closed-period", "first-open-day", "--json")
    assert code == 0 and '"closed_period": "first_open_day"' in out
    assert len([a for a in install.audit() if a[0] == "settings.closed_period_set"]) == 1


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_anyone_but_an_admin_is_refused_and_nothing_changes(install: Install, role: Role) -> None:
    me = os_login()
    boss = install.users.add(install.users.current_actor(me), "boss", "Boss", Role.ADMIN).actor
    install.users.change_role(boss, me, role)
    code, _out, err = install.cli("settings", "set", "--org", "ACME-US", "closed-period", "first-open-day")
    assert code == 3, err
    assert f"{me} is {'an operator' if role is Role.OPERATOR else 'a viewer'} and may not manage settings" in err
    assert "Traceback" not in err
    assert PostingSettings(install.db, SystemClock()).closed_period("ACME-US") is ClosedPeriodPolicy.QUARANTINE
    assert not [a for a in install.audit() if a[0] == "settings.closed_period_set"]
    code, out, err = install.cli("settings", "show", "--org", "ACME-US")  # reading is allowed
    assert code == 0 and "Hold for a person" in out, err


def test_a_wrong_value_or_organization_says_what_to_do(install: Install) -> None:
    code, _out, err = install.cli("settings", "set", "--org", "ACME-US", "closed-period", "sometimes")
    assert code != 0 and "use first-open-day or quarantine" in err and "Traceback" not in err
    code, _out, err = install.cli("settings", "set", "--org", "NOPE", "closed-period", "quarantine")
    assert code != 0 and "There is no organization NOPE" in err and "Traceback" not in err
