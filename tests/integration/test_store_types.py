"""Exact storage on both databases: money, decimals, aware UTC times, and JSON without float."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.services.core.clock import NaiveDatetimeError
from desktop.services.core.money import Money
from desktop.services.store.coltypes import ExactDecimal
from desktop.services.store.db import Database, make_engine
from desktop.services.store.models import (
    Organization,
    Platform,
    RefTaxCode,
    Return,
    ReturnFee,
    ReturnLine,
    Setting,
)
from desktop.services.store.testing import make_connection, make_org, make_return

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Per-test database reuse across examples is deliberate: one engine per test keeps this fast.
DB_SETTINGS = settings(max_examples=60, deadline=None,
                       suppress_health_check=[HealthCheck.function_scoped_fixture])
INT64 = 2**63 - 1


@pytest.fixture
def return_id(db: Database) -> int:
    with db.write_session() as session:
        org = make_org(session)
        ret = make_return(session, org)
        return ret.id


# --- money ----------------------------------------------------------------------------------


@DB_SETTINGS
@given(
    currency=st.sampled_from(["JPY", "USD", "EUR", "KWD", "BHD"]),  # 0, 2, 2, 3, 3 decimals
    units=st.one_of(
        st.integers(min_value=-1000, max_value=1000),            # small: cents and fils
        st.integers(min_value=-INT64, max_value=INT64),          # anything BIGINT holds
        st.sampled_from([INT64, -INT64, 10**15 + 1, -(10**15) - 7]),
    ),
)
def test_money_round_trips_exactly_through_a_model(
    db: Database, return_id: int, currency: str, units: int
) -> None:
    money = Money.from_minor_units(units, currency)
    with db.write_session() as session:
        fee = ReturnFee(return_id=return_id, fee_type="restocking_fee")
        fee.amount = money
        session.add(fee)
        session.flush()
        fee_id = fee.id

    with db.session() as session:
        loaded = session.get_one(ReturnFee, fee_id)
        stored = session.execute(
            sa.select(ReturnFee.amount_minor, ReturnFee.currency).where(ReturnFee.id == fee_id)
        ).one()

    assert loaded.amount == money
    assert loaded.amount.amount.as_tuple() == money.amount.as_tuple()  # same digits, same scale
    assert loaded.amount.currency == currency
    assert tuple(stored) == (units, currency)
    assert type(stored[0]) is int


def test_money_field_refuses_a_second_currency_on_one_row() -> None:
    line = ReturnLine(currency="USD")
    with pytest.raises(ValueError, match="EUR amount on a USD row"):
        line.unit_price = Money(Decimal("1.00"), "EUR")
    line.unit_price = Money(Decimal("19.99"), "USD")
    assert line.unit_price_minor == 1999
    with pytest.raises(TypeError, match="takes Money"):
        line.unit_price = Decimal("1.00")  # type: ignore[assignment]


def test_money_field_refuses_sub_minor_amounts() -> None:
    fee = ReturnFee()
    with pytest.raises(ValueError, match="decimals"):
        fee.amount = Money(Decimal("1.005"), "USD")


# --- exact decimals ------------------------------------------------------------------------


RATES = ["1.23456789", "0.0825", "0.10", "-0.000000001", "123456789012.123456789", "1E+3", "0", "100.000"]


def test_exact_decimal_round_trip(db: Database) -> None:
    with db.write_session() as session:
        conn = make_connection(session, make_org(session))
        session.add_all(RefTaxCode(connection_id=conn.id, remote_id=rate, name="tax", rate=Decimal(rate),
                                   raw={}, fetched_at=T0) for rate in RATES)
    with db.session() as session:
        loaded = {rid: rate for rid, rate in session.execute(sa.select(RefTaxCode.remote_id, RefTaxCode.rate))}
    assert loaded.keys() == set(RATES)
    for rate, value in loaded.items():
        assert isinstance(value, Decimal)
        assert value == Decimal(rate)
        # Digit for digit and scale kept; a positive exponent comes back in plain notation (1E+3 → 1000).
        assert value.as_tuple() == Decimal(format(Decimal(rate), "f")).as_tuple(), rate


@DB_SETTINGS
@given(qty=st.decimals(allow_nan=False, allow_infinity=False, places=8,
                       min_value=Decimal("-1e12"), max_value=Decimal("1e12")))
def test_exact_decimal_property(db: Database, return_id: int, qty: Decimal) -> None:
    with db.write_session() as session:
        line = ReturnLine(return_id=return_id, line_no=0, quantity=qty, currency="USD", unit_price_minor=1)
        session.add(line)
        session.flush()
        line_id = line.id
        session.flush()
    with db.session() as session:
        loaded = session.get_one(ReturnLine, line_id)
        assert loaded.quantity == qty
        assert loaded.quantity.as_tuple().exponent == qty.as_tuple().exponent
    with db.write_session() as session:
        session.execute(sa.delete(ReturnLine).where(ReturnLine.id == line_id))


def test_plain_numeric_on_sqlite_is_not_exact_but_ours_is(tmp_path: Path) -> None:
    """Why ExactDecimal exists: SQLAlchemy's Numeric on SQLite goes through a float."""
    engine = make_engine(f"sqlite:///{tmp_path / 'n.sqlite3'}")
    md = sa.MetaData()
    table = sa.Table("t", md, sa.Column("plain", sa.Numeric(asdecimal=True)), sa.Column("exact", ExactDecimal()))
    md.create_all(engine)
    value = Decimal("12345678901234.123456789")
    with engine.begin() as conn:
        conn.execute(table.insert(), {"plain": value, "exact": value})
        plain, exact = conn.execute(sa.select(table.c.plain, table.c.exact)).one()
    engine.dispose()
    assert plain != value  # the float lost digits
    assert exact == value and str(exact) == str(value)


def test_exact_decimal_refuses_float_and_nan(db: Database, return_id: int) -> None:
    for bad, error in ((0.1, TypeError), (Decimal("NaN"), ValueError), (Decimal("Infinity"), ValueError)):
        with pytest.raises(sa.exc.StatementError) as caught, db.write_session() as session:
            session.add(ReturnLine(return_id=return_id, line_no=1, quantity=bad, currency="USD",
                                   unit_price_minor=1))
            session.flush()
        assert isinstance(caught.value.orig, error)


# --- timestamps ----------------------------------------------------------------------------


def test_utc_datetime_refuses_naive(db: Database) -> None:
    with pytest.raises(sa.exc.StatementError) as caught, db.write_session() as session:
        session.add(Organization(code="N", name="Naive", platform=Platform.QBO, timezone="UTC",
                                 home_currency="USD", created_at=datetime(2026, 1, 1),
                                 updated_at=T0))
        session.flush()
    assert isinstance(caught.value.orig, NaiveDatetimeError)
    with db.session() as session:
        assert session.scalars(sa.select(Organization)).all() == []


def test_utc_datetime_returns_aware_utc(db: Database) -> None:
    tokyo = timezone(timedelta(hours=9))
    local = datetime(2026, 3, 2, 8, 30, 15, 123456, tzinfo=tokyo)  # 2026-03-01 23:30:15.123456 UTC
    with db.write_session() as session:
        org = make_org(session, created_at=local)
        org_id = org.id
    with db.session() as session:
        loaded = session.get_one(Organization, org_id).created_at
        earlier = session.scalars(
            sa.select(Organization.id).where(Organization.created_at < T0 + timedelta(hours=12))
        ).all()
    assert loaded.tzinfo is not None and loaded.utcoffset() == timedelta(0)
    assert loaded == local
    assert loaded.isoformat() == "2026-03-01T23:30:15.123456+00:00"
    assert earlier == [org_id]  # comparisons in SQL use the UTC instant


# --- JSON ----------------------------------------------------------------------------------


def test_json_keeps_decimals_exact_and_refuses_float(db: Database) -> None:
    payload = {"amount": Decimal("19.99"), "rate": Decimal("0.082500"), "qty": 3, "tiny": Decimal("1E-10"),
               "nested": [{"v": Decimal("-0.10")}, None, True, "text ✓"]}
    with db.write_session() as session:
        session.add(Setting(key="k", value=payload, updated_at=T0))
    with db.session() as session:
        loaded = session.scalars(sa.select(Setting.value)).one()
    assert loaded == payload
    assert loaded["rate"].as_tuple() == Decimal("0.082500").as_tuple()  # scale kept, not just value
    assert all(not isinstance(v, float) for v in (loaded["amount"], loaded["rate"], loaded["tiny"]))
    assert isinstance(loaded["amount"], Decimal)

    with pytest.raises(sa.exc.StatementError, match="float") as caught, db.write_session() as session:
        session.add(Setting(key="f", value={"amount": 19.99}, updated_at=T0))
        session.flush()
    assert isinstance(caught.value.orig, TypeError)


def test_json_none_is_sql_null(db: Database, return_id: int) -> None:
    with db.write_session() as session:
        session.add(Setting(key="absent", value=None, updated_at=T0))
    with db.session() as session:
        nulls = session.scalars(sa.select(Setting.key).where(Setting.value.is_(None))).all()
    assert nulls == ["absent"]


def test_raw_payload_survives(db: Database, return_id: int) -> None:
    with db.session() as session:
        ret = session.get_one(Return, return_id)
    assert ret.raw_payload["lines"][0]["unit_price"] == Decimal("19.99")
