"""``returns-ledger users list|add|role|deactivate|reactivate``: who may use the app, in which role (admins).

The same ``UserService`` as Settings → Users: every change is audited, and no change may leave the
installation without an active admin. A user name is the person's OS login (single workstation) or
PostgreSQL login (shared mode). Someone who may not manage users is refused (exit 3).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig

if TYPE_CHECKING:
    from desktop.services.admin.users import UserInfo

ROLES = ("admin", "operator", "viewer")


def _row(u: UserInfo) -> dict[str, Any]:
    return {"username": u.username, "display_name": u.display_name, "role": u.role.value, "active": u.is_active,
            "created_at": u.created_at.isoformat(), "updated_at": u.updated_at.isoformat()}


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No users yet."
    lines = [("USER", "ROLE", "ACTIVE", "NAME")] + [
        (r["username"], r["role"], "yes" if r["active"] else "no", r["display_name"]) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(line[:3], widths, strict=True)), line[3]]).rstrip()
                     for line in lines)


def _run(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.auth.roles import Role
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        users, actor = rt.users, rt.actor
        what = args.users_command
        if what == "list":
            rows = [_row(u) for u in users.roster(actor)]
            emit(args, rows, _table(rows))
            return 0
        if what == "add":
            info = users.add(actor, args.name, args.display_name or args.name, Role(args.role))
            text = f"Added {info.username} as {info.role.value}."
        elif what in ("role", "set-role"):
            info = users.change_role(actor, args.name, Role(args.role))
            text = f"{info.username} is {info.role.value}."
        elif what in ("deactivate", "disable"):
            info = users.deactivate(actor, args.name)
            text = f"{info.username} is deactivated (can only look; the audit trail keeps the name)."
        else:
            info = users.reactivate(actor, args.name)
            text = f"{info.username} is active again as {info.role.value}."
    emit(args, _row(info), text)
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("users", help="list, add and change users and their roles (admins)", parents=[common])
    actions = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    actions.add_parser("list", parents=[common, json_opt], help="everyone, active first").set_defaults(handler=_run)
    add = actions.add_parser("add", parents=[common, json_opt], help="enrol a person (their OS or PostgreSQL login)")
    add.add_argument("name", metavar="NAME", help="the login name: OS account, or PostgreSQL login in shared mode")
    add.add_argument("--role", required=True, choices=ROLES, help="what they may do")
    add.add_argument("--display-name", metavar="TEXT", help="how the app shows them (default: NAME)")
    add.set_defaults(handler=_run)
    role = actions.add_parser("role", aliases=["set-role"], parents=[common, json_opt], help="change a user's role")
    role.add_argument("name", metavar="NAME")
    role.add_argument("role", metavar="ROLE", choices=ROLES, help="admin, operator or viewer")
    role.set_defaults(handler=_run)
    for name, alias, helptext in (("deactivate", "disable", "take a user's access away (they can only look)"),
                                  ("reactivate", "enable", "give a deactivated user their role back")):
        a = actions.add_parser(name, aliases=[alias], parents=[common, json_opt], help=helptext)
        a.add_argument("name", metavar="NAME")
        a.set_defaults(handler=_run)
