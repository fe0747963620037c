"""``returns-ledger db upgrade|roles|password``: database maintenance.

``upgrade`` applies migrations (admins). ``roles`` (shared-PostgreSQL mode, admins, run as the
schema's owner) creates the PostgreSQL group roles rls_viewer / rls_operator / rls_admin and grants
them what each app role may do (``desktop.services.store.pg_roles``); ``roles --grant LOGIN ROLE``
puts a person's PostgreSQL login into one of them. ``password`` keeps the password of the --db
login in the OS keyring (read from stdin, never from the command line).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from desktop.commands import emit, redact_url
from desktop.services.core.config import AppConfig


def _upgrade(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.auth.roles import Action
    from desktop.services.runtime import open_runtime
    from desktop.services.store.migrate import upgrade
    with open_runtime(config) as rt:  # migrates, as every command does, and resolves who is asking
        rt.actor.require(Action.MANAGE_SETTINGS)
        revision = upgrade(config.db_url)
    emit(args, {"database": redact_url(config.db_url), "revision": revision},
         f"Database is at revision {revision}.")
    return 0


def _roles(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.auth.roles import Action, Role
    from desktop.services.core.errors import ConfigurationError
    from desktop.services.runtime import open_runtime
    from desktop.services.store.pg_roles import GROUP_ROLES, apply_roles, grant_login
    if args.grant and args.grant[1] not in {r.value for r in Role}:
        raise ConfigurationError(f"{args.grant[1]!r} is not a role", action="use viewer, operator or admin")
    with open_runtime(config) as rt:
        rt.actor.require(Action.MANAGE_USERS)
        report = apply_roles(rt.database.engine)
        granted = grant_login(rt.database.engine, args.grant[0], Role(args.grant[1])) if args.grant else None
    groups = list(GROUP_ROLES.values())
    lines = [f"Group roles {', '.join(groups)} granted over {len(report.tables)} tables"
             + (f" (created {', '.join(report.created)})" if report.created else "") + "."]
    if granted:
        lines.append(f"{args.grant[0]} is now in {granted}. Enrol them too if needed: "
                     f"returns-ledger users add {args.grant[0]} --role {args.grant[1]}")
    emit(args, {"groups": groups, "created": list(report.created), "tables": list(report.tables),
                "audit_tables": list(report.audit_tables),
                "granted": {"login": args.grant[0], "group": granted} if granted else None}, "\n".join(lines))
    return 0


def _password(args: argparse.Namespace, config: AppConfig) -> int:
    import getpass

    from desktop.services.core.errors import ConfigurationError
    from desktop.services.store.db import db_password_entry, save_db_password
    if db_password_entry(config.db_url) is None:
        raise ConfigurationError("Only a PostgreSQL login has a password to keep",
                                 action="give --db postgresql+psycopg://LOGIN@HOST/DB (without the password)")
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ConfigurationError("No password given", action="type it, or pipe it in on one line")
    entry = save_db_password(config.db_url, password)
    emit(args, {"database": redact_url(config.db_url), "keyring_entry": entry},
         f"The password of {redact_url(config.db_url)} is in the OS keyring ({entry}).")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", help="database maintenance", parents=[common])
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    actions.add_parser("upgrade", help="apply database migrations (admins)",
                       parents=[common, json_opt]).set_defaults(handler=_upgrade)
    roles = actions.add_parser(
        "roles", parents=[common, json_opt], help="shared PostgreSQL: create the group roles and their grants",
        description="Create (if missing) the PostgreSQL group roles rls_viewer, rls_operator and rls_admin and "
                    "grant them what each app role may do: viewers SELECT only, operators what the sync writes "
                    "(not mappings, users or connections), admins everything; nobody may UPDATE or DELETE "
                    "audit rows. Run as the schema's owner (CREATEROLE), again after every `db upgrade`.")
    roles.add_argument("--grant", nargs=2, metavar=("LOGIN", "ROLE"),
                       help="also put the PostgreSQL login LOGIN into ROLE's group (viewer, operator or admin)")
    roles.set_defaults(handler=_roles)
    actions.add_parser("password", parents=[common, json_opt],
                       help="keep the --db login's PostgreSQL password in the OS keyring (read from stdin)"
                       ).set_defaults(handler=_password)
