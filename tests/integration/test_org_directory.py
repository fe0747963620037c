"""The organization lists the views' pickers read through the services (the views hold no session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.services.queries.organizations import OrganizationDirectory, OrgCurrencies
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import Platform
from desktop.services.store.testing import make_connection, make_org


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[OrganizationDirectory]:
    url = f"sqlite:///{tmp_path / 'orgs.sqlite3'}"
    upgrade(url)
    db = Database(url)
    with db.write_session() as s:
        make_org(s, code="ZETA", platform=Platform.QBO, home_currency="USD")
        kiwi = make_org(s, code="KIWI-NZ", platform=Platform.XERO, home_currency="NZD", timezone="Pacific/Auckland")
        make_connection(s, kiwi, remote_id="tenant-kiwi").company = {"currencies": ["aud", "NZD", "usd", None]}
        make_org(s, code="OLD").is_active = False
    yield OrganizationDirectory(db)
    db.dispose()


def test_active_codes_leave_out_deactivated_organizations(directory: OrganizationDirectory) -> None:
    assert directory.active_codes() == ["KIWI-NZ", "ZETA"]


def test_names_list_every_organization_by_code(directory: OrganizationDirectory) -> None:
    assert [code for code, _name in directory.names()] == ["KIWI-NZ", "OLD", "ZETA"]


def test_currencies_come_from_the_connection_without_the_home_currency(directory: OrganizationDirectory) -> None:
    found = {o.code: o for o in directory.with_currencies()}
    assert set(found) == {"KIWI-NZ", "ZETA"}
    kiwi = found["KIWI-NZ"]
    assert kiwi == OrgCurrencies("KIWI-NZ", kiwi.name, "xero", "NZD", "Pacific/Auckland", ("AUD", "USD"))
    assert found["ZETA"].currencies == ()
