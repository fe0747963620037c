"""Exchange rates an admin enters (``fx_rates``): the service on both databases, and the CLI."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.admin.fx_rates import FxRateSettings, RateJumpNeedsConfirmation, parse_rate
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import SystemClock
from desktop.services.core.domain import OrgSettings
from desktop.services.core.errors import NeedsPersonError
from desktop.services.pipeline.fx import FxRates
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog, Organization
from desktop.services.store.testing import make_org
from tests.helpers.cli import run_cli_here

ADMIN, VIEWER = Actor("alice", Role.ADMIN), Actor("vic", Role.VIEWER)


@pytest.fixture
def db(db: Database) -> Database:
    """The migrated database, with this module's organizations."""
    with db.write_session() as s:
        make_org(s, code="KIWI-NZ", home_currency="NZD")
    return db


def test_an_admin_enters_a_rate_the_recipes_then_use(db: Database) -> None:
    rates = FxRateSettings(db, SystemClock())
    rates.set(ADMIN, "KIWI-NZ", "aud", date(2026, 11, 1), Decimal("1.092418"))
    rates.set(ADMIN, "KIWI-NZ", "AUD", date(2026, 11, 20), Decimal("1.1"))

    assert rates.table("KIWI-NZ") == {"AUD": {"2026-11-01": "1.092418", "2026-11-20": "1.1"}}
    with db.session() as s:
        org = s.scalars(sa.select(Organization).where(Organization.code == "KIWI-NZ")).one()
        settings = OrgSettings.from_json(dict(org.settings or {}))
        entries = s.scalars(sa.select(AuditLog).where(AuditLog.action == "settings.fx_rate_set")).all()
    table = FxRates.from_settings("NZD", settings.extra.get("fx_rates"))
    used = table.lookup("AUD", date(2026, 11, 19))
    assert used is not None and used.rate == Decimal("1.092418")
    later = table.lookup("AUD", date(2026, 11, 27))
    assert later is not None and later.rate == Decimal("1.1")
    assert [(e.actor, e.details["currency"], e.details["rate"]) for e in entries] == [
        ("alice", "AUD", "1.092418"), ("alice", "AUD", "1.1")]
    with db.session() as s:
        assert audit.verify_chain(s).intact

    assert rates.remove(ADMIN, "KIWI-NZ", "AUD", date(2026, 11, 20)) is True
    assert rates.remove(ADMIN, "KIWI-NZ", "AUD", date(2026, 11, 20)) is False
    assert rates.table("KIWI-NZ") == {"AUD": {"2026-11-01": "1.092418"}}


def test_bad_rates_and_viewers_are_refused_with_the_reason(db: Database) -> None:
    rates = FxRateSettings(db, SystemClock())
    with pytest.raises(NeedsPersonError, match="may not manage settings"):
        rates.set(VIEWER, "KIWI-NZ", "AUD", date(2026, 11, 1), Decimal("1.09"))
    with pytest.raises(NeedsPersonError, match="home currency"):
        rates.set(ADMIN, "KIWI-NZ", "NZD", date(2026, 11, 1), Decimal("1"))
    with pytest.raises(NeedsPersonError, match="ISO 4217"):
        rates.set(ADMIN, "KIWI-NZ", "ZZZ", date(2026, 11, 1), Decimal("1"))
    with pytest.raises(NeedsPersonError, match="no organization"):
        rates.set(ADMIN, "NOPE", "AUD", date(2026, 11, 1), Decimal("1"))
    for text in ("0", "-1.2", "abc", "NaN"):
        with pytest.raises(NeedsPersonError):
            parse_rate(text)
    for text, why in (("1e400", "outside any real exchange rate"), ("1e-20", "outside any real exchange rate"),
                      ("1.123456789012", "more than 10 decimal places"), ("9" * 50, "too long")):
        with pytest.raises(NeedsPersonError, match=why):
            parse_rate(text)
        with pytest.raises(NeedsPersonError):  # the service applies the same rule to a Decimal it is handed
            rates.set(ADMIN, "KIWI-NZ", "AUD", date(2026, 11, 1), Decimal(text) if text[0] != "9" else Decimal(0))
    assert rates.table("KIWI-NZ") == {}


def test_a_rate_far_from_the_one_in_force_needs_confirmation(db: Database) -> None:
    rates = FxRateSettings(db, SystemClock())
    rates.set(ADMIN, "KIWI-NZ", "AUD", date(2026, 11, 1), Decimal("1.0924"))
    rates.set(ADMIN, "KIWI-NZ", "AUD", date(2026, 11, 8), Decimal("1.2000"))  # +9.9 %: no question asked
    with pytest.raises(RateJumpNeedsConfirmation, match="above the rate in force") as asked:
        rates.set(ADMIN, "KIWI-NZ", "AUD", date(2026, 11, 15), Decimal("10.924"))  # a slipped decimal point
    assert asked.value.reference == Decimal("1.2000") and asked.value.change > Decimal("0.2")
    with pytest.raises(RateJumpNeedsConfirmation, match="below"):  # before the first rate: compared with it
        rates.set(ADMIN, "KIWI-NZ", "AUD", date(2026, 10, 1), Decimal("0.5"))
    assert rates.table("KIWI-NZ") == {"AUD": {"2026-11-01": "1.0924", "2026-11-08": "1.2000"}}

    rates.set(ADMIN, "KIWI-NZ", "AUD", date(2026, 11, 15), Decimal("1.6"), confirm=True)

    assert rates.table("KIWI-NZ")["AUD"]["2026-11-15"] == "1.6"


@pytest.mark.slow
def test_the_cli_sets_lists_and_removes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'returns-ledger.sqlite3'}"
    migrate.upgrade(url)
    database = Database(url)
    with database.write_session() as s:
        make_org(s, code="TEA-UK", home_currency="GBP")
    database.dispose()

    def cli(*args: str) -> CompletedProcess[str]:
        # through the CLI's own main() in this process: the process boundary is not what is tested
        return run_cli_here("fx", *args, "--org", "TEA-UK", "--data-dir", str(tmp_path))

    done = cli("set", "--currency", "JPY", "--date", "2026-11-01", "--rate", "0.005251", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"org": "TEA-UK", "fx_rates": {"JPY": {"2026-11-01": "0.005251"}}}
    shown = cli("list")
    assert "JPY from 2026-11-01: 0.005251" in shown.stdout
    refused = cli("set", "--currency", "JPY", "--date", "2026-11-01", "--rate", "-2")
    assert refused.returncode != 0 and "greater than zero" in refused.stderr
    impossible = cli("set", "--currency", "JPY", "--date", "2026-02-30", "--rate", "0.005")
    assert impossible.returncode == 2 and "'2026-02-30' is not a calendar date" in impossible.stderr
    jump = cli("set", "--currency", "JPY", "--date", "2026-11-02", "--rate", "0.05251")
    assert jump.returncode == 2 and "above the rate in force" in jump.stderr and "--confirm" in jump.stderr
    assert cli("set", "--currency", "JPY", "--date", "2026-11-02", "--rate", "0.05251", "--confirm").returncode == 0
    for proc in (refused, impossible, jump):
        assert "Traceback" not in proc.stderr
    assert cli("remove", "--currency", "JPY", "--date", "2026-11-01").returncode == 0
    assert cli("remove", "--currency", "JPY", "--date", "2026-11-02").returncode == 0
    assert "none entered" in cli("list").stdout
