"""Constraints and session discipline on real databases (SQLite file and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from desktop.services.core.money import Money
from desktop.services.store.db import Database
from desktop.services.store.models import (
    MappingSet,
    OutboxDocument,
    OutboxStatus,
    Platform,
    Return,
    ReturnFee,
    ReturnLine,
    ReturnSyncStatus,
    ReturnTaxLine,
    Setting,
)
from desktop.services.store.testing import T0, make_org, make_return

pytestmark = pytest.mark.db


def test_return_revision_is_unique_per_organization(db: Database) -> None:
    with db.write_session() as session:
        acme = make_org(session, code="ACME")
        globex = make_org(session, code="GLOBEX")
        make_return(session, acme, rms_id="R-1", revision=1)
        make_return(session, acme, rms_id="R-1", revision=2)   # a new revision: fine
        make_return(session, globex, rms_id="R-1", revision=1)  # another organization: fine
        acme_id = acme.id

    with pytest.raises(IntegrityError), db.write_session() as session:
        acme = session.get_one(type(acme), acme_id)
        make_return(session, acme, rms_id="R-1", revision=1)

    with db.session() as session:
        rows = session.execute(sa.select(Return.organization_id, Return.rms_id, Return.revision)
                               .order_by(Return.organization_id, Return.revision)).all()
    assert len(rows) == 3
    assert rows.count((acme_id, "R-1", 1)) == 1


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.write_session() as session:
        session.add(ReturnFee(return_id=424242, fee_type="restocking_fee", amount_minor=500, currency="USD"))
        session.flush()


def test_deleting_a_return_cascades_to_its_lines_fees_and_taxes(db: Database) -> None:
    with db.write_session() as session:
        ret = make_return(session, make_org(session))
        fee = ReturnFee(fee_type="restocking_fee")
        fee.amount = Money(Decimal("5.00"), "USD")
        ret.fees.append(fee)
        session.flush()
        session.add(ReturnTaxLine(return_id=ret.id, return_line_id=ret.lines[0].id, jurisdiction="US-CA",
                                  rate=Decimal("0.0725"), amount_minor=290, currency="USD"))
        ret_id = ret.id

    with db.write_session() as session:
        session.execute(sa.delete(Return).where(Return.id == ret_id))  # database-level cascade

    with db.session() as session:
        for model in (ReturnLine, ReturnFee, ReturnTaxLine):
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_enum_columns_refuse_unknown_values(db: Database) -> None:
    """The CHECK constraint guards raw SQL too, not only the ORM."""
    with db.write_session() as session:
        ret = make_return(session, make_org(session))
        assert ret.sync_status is ReturnSyncStatus.NEW
        ret_id = ret.id
    with pytest.raises(IntegrityError), db.write_session() as session:
        session.execute(sa.text("UPDATE returns SET sync_status = 'bogus' WHERE id = :id"), {"id": ret_id})


def test_outbox_idempotency_key_is_unique(db: Database) -> None:
    def doc(org_id: int, key: str) -> OutboxDocument:
        return OutboxDocument(organization_id=org_id, idempotency_key=key, role="refund", platform=Platform.QBO,
                              doc_type="RefundReceipt", payload={"TotalAmt": Decimal("39.98")},
                              created_at=T0, updated_at=T0)

    with db.write_session() as session:
        org = make_org(session)
        session.add(doc(org.id, "ACME:R-1:1:refund"))
        org_id = org.id
    with pytest.raises(IntegrityError), db.write_session() as session:
        session.add(doc(org_id, "ACME:R-1:1:refund"))
        session.flush()
    with db.session() as session:
        stored = session.scalars(sa.select(OutboxDocument)).one()
    assert stored.status is OutboxStatus.PENDING
    assert stored.attempts == 0
    assert stored.payload == {"TotalAmt": Decimal("39.98")}


def test_one_active_mapping_set_per_organization(db: Database) -> None:
    with db.write_session() as session:
        org = make_org(session)
        session.add_all([
            MappingSet(organization_id=org.id, version=1, created_by="alice", created_at=T0, is_active=False),
            MappingSet(organization_id=org.id, version=2, created_by="alice", created_at=T0, is_active=True),
        ])
        org_id = org.id
    with pytest.raises(IntegrityError), db.write_session() as session:
        session.add(MappingSet(organization_id=org_id, version=3, created_by="bob", created_at=T0, is_active=True))
        session.flush()
    with pytest.raises(IntegrityError), db.write_session() as session:
        session.add(MappingSet(organization_id=org_id, version=2, created_by="bob", created_at=T0))
        session.flush()


def test_settings_keys_are_unique_per_scope(db: Database) -> None:
    with db.write_session() as session:
        org = make_org(session)
        session.add_all([
            Setting(key="sync.interval_s", value=300, updated_at=T0),
            Setting(organization_id=org.id, key="sync.interval_s", value=60, updated_at=T0),
        ])
        org_id = org.id
    for duplicate_org in (None, org_id):
        with pytest.raises(IntegrityError), db.write_session() as session:
            session.add(Setting(organization_id=duplicate_org, key="sync.interval_s", value=1, updated_at=T0))
            session.flush()


def test_session_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), db.write_session() as session:
        make_org(session)
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.scalars(sa.select(Return)).all() == []
        assert session.scalar(sa.text("SELECT count(*) FROM organizations")) == 0


def test_rows_stay_readable_after_the_session(db: Database) -> None:
    """expire_on_commit=False: views get detached snapshots, not lazy loads on the GUI thread."""
    with db.write_session() as session:
        ret = make_return(session, make_org(session))
    assert ret.rma_number == "RMA-R-1001"
    assert ret.updated_at == T0


def test_sqlite_pragmas_and_writer_discipline(db: Database) -> None:
    if not db.is_sqlite:
        assert db.dialect_name == "postgresql"
        with db.write_session() as session:  # on PostgreSQL this is just a session
            assert session.scalar(sa.text("SELECT 1")) == 1
        return
    with db.session() as session:
        assert session.scalar(sa.text("PRAGMA journal_mode")) == "wal"
        assert session.scalar(sa.text("PRAGMA foreign_keys")) == 1
        assert session.scalar(sa.text("PRAGMA synchronous")) == 1  # NORMAL
        assert session.scalar(sa.text("PRAGMA busy_timeout")) >= 1000

    with db.write_session(), pytest.raises(RuntimeError, match="already open"), db.write_session():
        pass  # a nested writer would deadlock on the first: refused at once


def test_writers_are_serialised_and_readers_are_not_blocked(db: Database) -> None:
    """Concurrent read-modify-write through write_session never loses an update."""
    with db.write_session() as session:
        org = make_org(session)
        session.add(Setting(organization_id=org.id, key="counter", value=0, updated_at=T0))

    def bump(times: int) -> None:
        for _ in range(times):
            with db.write_session() as session:
                setting = session.scalars(
                    sa.select(Setting).where(Setting.key == "counter").with_for_update()
                ).one()
                setting.value = int(setting.value) + 1
                setting.updated_at = setting.updated_at + timedelta(seconds=1)

    threads = [threading.Thread(target=bump, args=(25,)) for _ in range(4)]
    for t in threads:
        t.start()
    with db.session() as session:  # a reader during the writes is never blocked (WAL / MVCC)
        assert session.scalar(sa.select(Setting.value).where(Setting.key == "counter")) is not None
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a writer is stuck (deadlock or lost wake-up)"

    with db.session() as session:
        assert session.scalar(sa.select(Setting.value).where(Setting.key == "counter")) == 100
