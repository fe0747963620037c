# ruff: noqa: S608 - the attacking SQL is built from the schema's own table and column names, on purpose
"""Shared-PostgreSQL mode: the database itself refuses what each role may not do (``db roles``).

A fresh database per test, migrated and granted by its owner, and one PostgreSQL login per app
role (members of rls_viewer / rls_operator / rls_admin, enrolled in ``users``). Each login then
issues the forbidden SQL directly — no app in between — and PostgreSQL must refuse it with
``insufficient_privilege`` (42501): a viewer writes nothing, an operator changes no mapping, user or
connection, and nobody — the admin included — updates, deletes or truncates audit rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import keyring
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from desktop.services.admin.users import REFUSED, UserService
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.config import KEYRING_SERVICE
from desktop.services.core.errors import PermissionDenied
from desktop.services.mapping.service import MappingService
from desktop.services.store.db import Database, db_password_entry, save_db_password
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog, MappingSet, Setting
from desktop.services.store.pg_roles import ADMIN_ONLY_TABLES, GROUP_ROLES, apply_roles, grant_login
from desktop.services.store.testing import make_connection, make_org, make_return

pytestmark = [pytest.mark.db, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DENIED = "42501"  # insufficient_privilege: a missing GRANT and a row policy's refusal alike


@dataclass
class Shared:
    url: str
    owner: Database
    logins: dict[Role, str]
    org_id: int
    engines: list[sa.Engine] = field(default_factory=list)

    def url_for(self, login: str) -> str:
        return make_url(self.url).set(username=login).render_as_string(hide_password=False)

    def engine(self, role: Role) -> sa.Engine:
        engine = sa.create_engine(self.url_for(self.logins[role]))
        self.engines.append(engine)
        return engine

    def audit_count(self) -> int:
        with self.owner.session() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(AuditLog)) or 0)


def _drop_logins(engine: sa.Engine, logins: list[str]) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for login in logins:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{login}"')


@pytest.fixture
def shared(db_url: str) -> Iterator[Shared]:
    upgrade(db_url)
    owner = Database(db_url)
    clock = ManualClock(T0)
    users = UserService(owner, clock)
    admin = users.signed_in()  # the owner's login, first on an empty installation: the admin
    assert admin.role is Role.ADMIN
    with owner.write_session() as s:
        org = make_org(s, code="ACME-US")
        make_connection(s, org)
        make_return(s, org)
        s.add(MappingSet(organization_id=org.id, version=1, created_by=admin.username, created_at=T0, is_active=True))
        s.add(Setting(key="fx.rates", value={"AUD": "1.1"}, updated_at=T0, updated_by=admin.username))
        org_id = org.id
    apply_roles(owner.engine)
    tag = uuid.uuid4().hex[:8]
    logins = {role: f"rls_t{tag}_{role.value}" for role in Role}
    with owner.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for login in logins.values():
            conn.exec_driver_sql(f'CREATE ROLE "{login}" LOGIN')
    for role, login in logins.items():
        assert grant_login(owner.engine, login, role) == GROUP_ROLES[role]
        users.add(admin, login, login, role)
    world = Shared(db_url, owner, logins, org_id)
    try:
        yield world
    finally:
        for engine in world.engines:
            engine.dispose()
        _drop_logins(owner.engine, list(logins.values()))
        owner.dispose()


def _refused(engine: sa.Engine, sql: str, params: dict[str, Any] | None = None) -> None:
    with engine.connect() as conn:
        with pytest.raises(sa.exc.ProgrammingError) as err:
            conn.execute(sa.text(sql), params or {})
        assert getattr(err.value.orig, "sqlstate", None) == DENIED, f"{sql}: {err.value.orig}"
        conn.rollback()


def _allowed(engine: sa.Engine, sql: str, params: dict[str, Any] | None = None) -> int:
    """Run ``sql`` and roll it back: proves the grant without changing the shared fixture."""
    with engine.connect() as conn:
        count = conn.execute(sa.text(sql), params or {}).rowcount
        conn.rollback()
        return count


def _tables(engine: sa.Engine) -> dict[str, str]:
    """Every table with one of its columns (for a harmless ``SET col = col``)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT table_name, min(column_name) FROM information_schema.columns WHERE table_schema = 'public' "
            "GROUP BY table_name ORDER BY table_name")).all()
    return {str(t): str(c) for t, c in rows}


# The appender assigns ``seq`` (contiguous); a raw row takes the next one the same way.
_AUDIT_ROW = ("INSERT INTO audit_log (seq, occurred_at, actor, action, details, prev_hash, hash) "
              "VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM audit_log), now(), :actor, :action, '{}', :prev, :hash)")


def _audit_params(actor: str, action: str) -> dict[str, str]:
    return {"actor": actor, "action": action, "prev": "0" * 64, "hash": uuid.uuid4().hex * 2}


def test_a_viewer_reads_every_table_and_can_write_none(shared: Shared) -> None:
    viewer = shared.engine(Role.VIEWER)
    tables = _tables(shared.owner.engine)
    assert {"users", "mapping_sets", "ledger_connections", "returns", "outbox_documents", "audit_log"} <= set(tables)
    for table, column in tables.items():
        with viewer.connect() as conn:
            conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()  # reading is fine
        if table != "audit_log":
            _refused(viewer, f'INSERT INTO "{table}" DEFAULT VALUES')
        _refused(viewer, f'UPDATE "{table}" SET "{column}" = "{column}"')
        _refused(viewer, f'DELETE FROM "{table}"')
        _refused(viewer, f'TRUNCATE "{table}" CASCADE')
    # The one row a viewer may add: an audit entry recording a refusal of itself (row policy).
    login = shared.logins[Role.VIEWER]
    assert _allowed(viewer, _AUDIT_ROW, _audit_params(login, REFUSED)) == 1
    _refused(viewer, _AUDIT_ROW, _audit_params(login, "mapping.saved"))
    _refused(viewer, _AUDIT_ROW, _audit_params(shared.logins[Role.ADMIN], REFUSED))


@pytest.mark.parametrize("role", list(Role))
def test_nobody_updates_deletes_or_truncates_audit_rows_not_even_an_admin(shared: Shared, role: Role) -> None:
    before = shared.audit_count()
    assert before >= 4  # enrolments, additions: real rows to attack
    engine = shared.engine(role)
    _refused(engine, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    _refused(engine, "UPDATE audit_log SET details = '{}'")
    _refused(engine, "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    _refused(engine, "DELETE FROM audit_log")
    _refused(engine, "TRUNCATE audit_log")
    assert shared.audit_count() == before


def test_an_operator_cannot_change_mappings_users_or_connections(shared: Shared) -> None:
    op = shared.engine(Role.OPERATOR)
    tables = _tables(shared.owner.engine)
    for table in ADMIN_ONLY_TABLES:
        _refused(op, f'INSERT INTO "{table}" DEFAULT VALUES')
        _refused(op, f'DELETE FROM "{table}"')
    for table in ("users", "mapping_sets", "mapping_rules"):
        _refused(op, f'UPDATE "{table}" SET "{tables[table]}" = "{tables[table]}"')
    _refused(op, "UPDATE users SET role = 'ADMIN'")
    _refused(op, "UPDATE mapping_sets SET is_active = false")
    # A connection cannot be re-pointed (company, keyring entry, app) …
    for column in ("remote_id", "credential_ref", "client_id", "organization_id", "platform"):
        _refused(op, f"UPDATE ledger_connections SET {column} = {column}")
    # … and deleting its organization (which would cascade to it) is refused too.
    _refused(op, "DELETE FROM organizations")
    # Of the settings, only the schedule (row policy): an exchange rate or an OAuth app is the admin's;
    # the policy hides those rows from an operator's UPDATE and DELETE and refuses them on INSERT.
    assert _allowed(op, "UPDATE settings SET value = '{}' WHERE key = 'fx.rates'") == 0
    assert _allowed(op, "DELETE FROM settings WHERE key = 'fx.rates'") == 0
    _refused(op, "INSERT INTO settings (key, value, updated_at, updated_by) "
                 "VALUES ('oauth.qbo.local', '{}', now(), 'x')")
    # What a sync writes is allowed: the schedule, token health, returns, the outbox, events.
    assert _allowed(op, "INSERT INTO settings (organization_id, key, value, updated_at, updated_by) "
                        "VALUES (:org, 'schedule.paused', 'true', now(), 'x')", {"org": shared.org_id}) == 1
    assert _allowed(op, "UPDATE ledger_connections SET status = status, last_refresh_at = now(), "
                        "access_token_expires_at = now(), updated_at = now()") == 1
    assert _allowed(op, "UPDATE returns SET updated_at = now()") == 1
    assert _allowed(op, "UPDATE organizations SET updated_at = now()") == 1
    assert _allowed(op, "DELETE FROM outbox_documents") == 0
    assert _allowed(op, "INSERT INTO event_log (event_id, kind, severity, level, message, occurred_at, details) "
                        "VALUES ('e-1', 'sync.started', 'info', 20, 'm', now(), '{}')") == 1


def test_the_database_refuses_an_operator_the_app_is_tricked_into_calling_an_admin(shared: Shared) -> None:
    """Bypassing the services' check (a forged admin actor) changes nothing: PostgreSQL says no."""
    login = shared.logins[Role.OPERATOR]
    as_operator = Database(shared.url_for(login))
    try:
        forged = Actor(login, Role.ADMIN)
        mapping = MappingService(as_operator, ManualClock(T0))
        with pytest.raises(sa.exc.ProgrammingError) as err:
            mapping.save("ACME-US", [], forged, "wipe the mapping", allow_empty=True)
        assert getattr(err.value.orig, "sqlstate", None) == DENIED
        with pytest.raises(sa.exc.ProgrammingError):
            UserService(as_operator, ManualClock(T0)).change_role(forged, shared.logins[Role.VIEWER], Role.ADMIN)
    finally:
        as_operator.dispose()
    with shared.owner.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(MappingSet)) == 1


def test_an_admin_changes_mappings_users_and_settings(shared: Shared) -> None:
    admin = shared.engine(Role.ADMIN)
    assert _allowed(admin, "UPDATE mapping_sets SET note = 'checked'") == 1
    assert _allowed(admin, "UPDATE users SET display_name = display_name") == 4
    assert _allowed(admin, "UPDATE ledger_connections SET remote_id = remote_id") == 1
    assert _allowed(admin, "UPDATE settings SET value = value WHERE key = 'fx.rates'") == 1


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
def test_nobody_writes_an_audit_entry_in_another_enrolled_persons_name(shared: Shared, role: Role) -> None:
    engine = shared.engine(role)
    login = shared.logins[role]
    other = shared.logins[Role.VIEWER]
    _refused(engine, _AUDIT_ROW, _audit_params(other, "mapping.saved"))
    assert _allowed(engine, _AUDIT_ROW, _audit_params(login, "mapping.saved")) == 1
    assert _allowed(engine, _AUDIT_ROW, _audit_params("system", "sync.run")) == 1  # not a person


def test_the_actor_is_the_postgresql_login_whatever_the_environment_says(
        shared: Shared, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LOGNAME", "USER", "USERNAME"):
        monkeypatch.setenv(var, shared.logins[Role.ADMIN])
    login = shared.logins[Role.VIEWER]
    db = Database(shared.url_for(login))
    try:
        assert db.login() == login
        assert UserService(db, ManualClock(T0)).signed_in() == Actor(login, Role.VIEWER)
    finally:
        db.dispose()


def test_a_login_that_is_not_enrolled_is_refused_and_the_refusal_audited(shared: Shared) -> None:
    stranger = f"rls_t{uuid.uuid4().hex[:8]}_stranger"
    with shared.owner.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{stranger}" LOGIN')
    try:
        grant_login(shared.owner.engine, stranger, Role.VIEWER)
        db = Database(shared.url_for(stranger))
        try:
            with pytest.raises(PermissionDenied, match=f"{stranger} is not a user of this installation"):
                UserService(db, ManualClock(T0)).signed_in()
        finally:
            db.dispose()
        with shared.owner.session() as s:
            entry = s.scalars(sa.select(AuditLog).order_by(AuditLog.seq.desc()).limit(1)).one()
            assert (entry.actor, entry.action, entry.target) == (stranger, REFUSED, "sign_in")
    finally:
        _drop_logins(shared.owner.engine, [stranger])


def test_db_roles_is_idempotent_and_a_login_is_in_one_group_at_a_time(shared: Shared) -> None:
    again = apply_roles(shared.owner.engine)
    assert again.created == () and "audit_log" in again.audit_tables
    login = shared.logins[Role.VIEWER]
    grant_login(shared.owner.engine, login, Role.OPERATOR)
    with shared.owner.engine.connect() as conn:
        groups = set(conn.execute(sa.text(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :r"), {"r": login}).scalars())
    assert groups == {GROUP_ROLES[Role.OPERATOR]}
    _refused(shared.engine(Role.ADMIN), "UPDATE audit_log SET actor = actor")  # still refused after a re-run


def test_the_password_of_a_login_comes_from_the_keyring_never_the_url(shared: Shared) -> None:
    login = shared.logins[Role.OPERATOR]
    url = shared.url_for(login)
    secret = f"pw-{uuid.uuid4().hex}"
    entry = save_db_password(url, secret)
    assert entry == db_password_entry(url) and login in entry
    db = Database(url)
    seen: list[Any] = []

    @event.listens_for(db.engine, "do_connect")
    def _spy(_d: Any, _r: Any, _a: Any, cparams: dict[str, Any]) -> None:  # runs after the app's own listener
        seen.append(cparams.get("password"))

    try:
        assert db.login() == login
        assert seen == [secret]
        assert secret not in repr(db) and secret not in db.url
    finally:
        db.dispose()
        keyring.delete_password(KEYRING_SERVICE, entry)
