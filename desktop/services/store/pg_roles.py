"""Shared-PostgreSQL mode: the app's three roles as real PostgreSQL roles, so the database itself refuses.

The services refuse what a role may not do (``auth.roles``); in shared mode each person connects as
their own PostgreSQL login, and these group roles make the database refuse the same things to
anyone who bypasses the app (``psql`` with their own login):

========================  =====================================================================
``rls_viewer``            SELECT on every table. The one thing it may add is an audit entry
                          recording a refusal of itself (a row policy: ``actor = session_user``
                          and ``action = 'access.refused'``), so its refusals are audited too.
``rls_operator``          SELECT everywhere; writes what the sync writes (returns, outbox, events,
                          reference cache, reconciliation, manual entries …). It cannot change
                          mappings or users (SELECT only), cannot add, remove or re-point a ledger
                          connection (it may update only the health columns a token refresh
                          writes), cannot delete organizations (that would cascade to
                          connections), and of the settings may write only the schedule
                          (``schedule.*``, row policy).
``rls_admin``             Everything an operator may, plus mappings, users, connections and every
                          setting.
everyone                  audit tables (``audit*``): SELECT and INSERT only — no role may UPDATE,
                          DELETE or TRUNCATE them, admins included; nobody may write an audit
                          entry in the name of another enrolled person (row policy).
========================  =====================================================================

:func:`apply_roles` is idempotent: it creates the group roles if missing and resets their grants
from the current schema, so run it again after every ``db upgrade`` (new tables get their grants).
It must run as the schema's owner with ``CREATEROLE`` (the login that ran the migrations). The
owner itself is a maintenance login, not a person's everyday one. :func:`grant_login` puts a
person's login into exactly one of the groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from desktop.services.core.enums import UserRole
from desktop.services.core.errors import ConfigurationError, PermissionDenied
from desktop.services.store.db import transaction_lock

__all__ = ["ADMIN_ONLY_TABLES", "CONNECTION_HEALTH_COLUMNS", "GROUP_ROLES", "RolesReport", "apply_roles",
           "grant_login"]

#: The PostgreSQL group role of each app role.
GROUP_ROLES: dict[UserRole, str] = {UserRole.VIEWER: "rls_viewer", UserRole.OPERATOR: "rls_operator",
                                    UserRole.ADMIN: "rls_admin"}
#: Tables only admins change (operators and viewers read them).
ADMIN_ONLY_TABLES = ("users", "mapping_sets", "mapping_rules", "ledger_connections")
#: The columns of ``ledger_connections`` a sync updates (token refresh, reference refresh, health).
CONNECTION_HEALTH_COLUMNS = ("status", "last_error", "last_refresh_at", "access_token_expires_at",
                             "refresh_token_expires_at", "refresh_token_hard_expires_at", "updated_at",
                             "company", "company_name", "reference_fetched_at")
#: Tables an operator may add to and update but not delete from.
_NO_OPERATOR_DELETE = ("organizations",)
_READ_ONLY = ("alembic_version",)
_AUDIT_PREFIX = "audit"
_AUDIT_LOG = "audit_log"
_REFUSED = "access.refused"  # admin.users.REFUSED; the store cannot import the admin package
_SCHEDULE_KEYS = "schedule.%"
_LOCK_KEY = 0x524C535F524F4C  # "RLS_ROL": one `db roles` at a time


@dataclass(frozen=True)
class RolesReport:
    """What :func:`apply_roles` did: the group roles it created (the others existed) and the tables covered."""

    created: tuple[str, ...]
    tables: tuple[str, ...]
    audit_tables: tuple[str, ...]


def _q(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def _ddl(conn: Connection, sql: str) -> None:
    """Run DDL built from quoted identifiers and constants (``text`` keeps a ``%`` in LIKE a literal)."""
    conn.execute(text(sql))


def _require_postgres(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise ConfigurationError("Database roles exist only in shared-PostgreSQL mode",
                                 action="give --db postgresql+psycopg://LOGIN@HOST/DB; on SQLite the OS "
                                        "account is the identity and `returns-ledger users` the roles")


def _require_owner(conn: Connection) -> None:
    """Only the owner of the app's tables can grant on them (a refusal, exit 3, audited like any other)."""
    me, owner = conn.execute(text(
        "SELECT current_user, (SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename = 'alembic_version')")).one()
    if owner is not None and not conn.execute(text("SELECT pg_has_role(current_user, :o, 'USAGE')"),
                                              {"o": owner}).scalar():
        raise PermissionDenied(f"{me} does not own the app's tables: only their owner ({owner}) can grant on them",
                               action=f"run `returns-ledger db roles` with --db naming the login {owner}",
                               who=str(me), permission="grant_database_roles", needed=f"owner ({owner})")


def apply_roles(engine: Engine) -> RolesReport:
    """Create the group roles if missing and (re)grant them over the current schema (see the module doc)."""
    created: list[str] = []
    with engine.begin() as conn:
        _require_postgres(conn)
        _require_owner(conn)
        transaction_lock(conn, _LOCK_KEY)
        for group in GROUP_ROLES.values():
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": group}).first() is None:
                # Roles belong to the cluster, the lock above to this database: another database's
                # `db roles` may create the group at the same moment, which is no failure.
                _ddl(conn, f"DO $$ BEGIN CREATE ROLE {_q(conn, group)} NOLOGIN; "
                           "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
                created.append(group)
        schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
        tables = [str(t) for t in conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'BASE TABLE' "
            "ORDER BY table_name"), {"s": schema}).scalars()]
        viewer, operator, admin = (_q(conn, GROUP_ROLES[r]) for r in (UserRole.VIEWER, UserRole.OPERATOR,
                                                                      UserRole.ADMIN))
        everyone = f"{viewer}, {operator}, {admin}"
        s = _q(conn, schema)
        _ddl(conn, f"GRANT USAGE ON SCHEMA {s} TO {everyone}")
        _ddl(conn, f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {everyone}")
        _ddl(conn, f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {everyone}")
        _ddl(conn, f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {everyone}")
        _ddl(conn, f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {operator}, {admin}")
        audit_tables = [t for t in tables if t.startswith(_AUDIT_PREFIX)]
        for table in tables:
            t = f"{s}.{_q(conn, table)}"
            if table in audit_tables:
                _ddl(conn, f"REVOKE UPDATE, DELETE, TRUNCATE ON {t} FROM PUBLIC")
                _ddl(conn, f"GRANT INSERT ON {t} TO {operator}, {admin}")
            elif table in _READ_ONLY:
                continue
            elif table == "ledger_connections":
                _ddl(conn, f"GRANT INSERT, UPDATE, DELETE ON {t} TO {admin}")
                cols = ", ".join(_q(conn, c) for c in CONNECTION_HEALTH_COLUMNS)
                _ddl(conn, f"GRANT UPDATE ({cols}) ON {t} TO {operator}")
            elif table in ADMIN_ONLY_TABLES:
                _ddl(conn, f"GRANT INSERT, UPDATE, DELETE ON {t} TO {admin}")
            elif table in _NO_OPERATOR_DELETE:
                _ddl(conn, f"GRANT INSERT, UPDATE, DELETE ON {t} TO {admin}")
                _ddl(conn, f"GRANT INSERT, UPDATE ON {t} TO {operator}")
            else:
                _ddl(conn, f"GRANT INSERT, UPDATE, DELETE ON {t} TO {operator}, {admin}")
        if _AUDIT_LOG in tables:
            _audit_policies(conn, f"{s}.{_q(conn, _AUDIT_LOG)}", viewer, operator, admin)
        if "settings" in tables:
            _settings_policies(conn, f"{s}.{_q(conn, 'settings')}", viewer, operator, admin)
    return RolesReport(tuple(created), tuple(tables), tuple(audit_tables))


def _policy(conn: Connection, table: str, name: str, body: str) -> None:
    _ddl(conn, f"DROP POLICY IF EXISTS {_q(conn, name)} ON {table}")
    _ddl(conn, f"CREATE POLICY {_q(conn, name)} ON {table} {body}")


def _audit_policies(conn: Connection, table: str, viewer: str, operator: str, admin: str) -> None:
    """Append-only for everyone; nobody writes in another enrolled person's name; a viewer only its refusals."""
    _ddl(conn, f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'seq')"), {"t": table}).scalar()
    if sequence:
        _ddl(conn, f"GRANT USAGE ON SEQUENCE {sequence} TO {viewer}")
    _ddl(conn, f"GRANT INSERT ON {table} TO {viewer}")
    _policy(conn, table, "rls_audit_read", f"FOR SELECT TO {viewer}, {operator}, {admin} USING (true)")
    enrolled = "EXISTS (SELECT 1 FROM users u WHERE u.username = actor)"
    _policy(conn, table, "rls_audit_append",
            f"FOR INSERT TO {operator}, {admin} WITH CHECK (actor = session_user OR NOT {enrolled})")
    _policy(conn, table, "rls_audit_refusal", f"FOR INSERT TO {viewer} WITH CHECK ("
            f"actor = session_user AND action = '{_REFUSED}')")


def _settings_policies(conn: Connection, table: str, viewer: str, operator: str, admin: str) -> None:
    """Admins write every setting; operators only the schedule (pause, resume); everyone reads."""
    _ddl(conn, f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    _policy(conn, table, "rls_settings_read", f"FOR SELECT TO {viewer}, {operator}, {admin} USING (true)")
    _policy(conn, table, "rls_settings_admin", f"FOR ALL TO {admin} USING (true) WITH CHECK (true)")
    _policy(conn, table, "rls_settings_schedule", f"FOR ALL TO {operator} USING (key LIKE '{_SCHEDULE_KEYS}') "
            f"WITH CHECK (key LIKE '{_SCHEDULE_KEYS}')")


def grant_login(engine: Engine, login: str, role: UserRole) -> str:
    """Make ``login`` (an existing PostgreSQL login) a member of ``role``'s group only; returns the group."""
    role = UserRole(role)
    group = GROUP_ROLES[role]
    with engine.begin() as conn:
        _require_postgres(conn)
        found = conn.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": login}).first()
        if found is None or not found[0]:
            raise ConfigurationError(f"There is no PostgreSQL login called {login}",
                                     action=f"create it first (CREATE ROLE {login} LOGIN PASSWORD …), then grant")
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": group}).first() is None:
            raise ConfigurationError(f"The group role {group} does not exist yet",
                                     action="run `returns-ledger db roles` first")
        member_of = set(conn.execute(text(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :r"), {"r": login}).scalars())
        for other in GROUP_ROLES.values():
            if other != group and other in member_of:  # one role per person
                _ddl(conn, f"REVOKE {_q(conn, other)} FROM {_q(conn, login)}")
        _ddl(conn, f"GRANT {_q(conn, group)} TO {_q(conn, login)}")
    return group
