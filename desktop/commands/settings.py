"""``returns-ledger settings show|set``: an organization's posting choices (admins change them).

``settings set --org ORG closed-period first-open-day`` re-dates documents whose date falls in a
period the ledger has closed to the first open day; ``quarantine`` holds them for a person (the
default). The same choice as "Closed period" on the Settings page, through the same service.
"""

from __future__ import annotations

import argparse
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig


def _run(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.admin.org_settings import PostingSettings, parse_closed_period
    from desktop.services.core.domain import CLOSED_PERIOD_CHOICES, CLOSED_PERIOD_LABEL
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        settings = PostingSettings(rt.database, rt.clock)
        if args.settings_action == "set":
            settings.set_closed_period(rt.actor, args.org, parse_closed_period(args.value))
        rows = [c for c in settings.choices() if args.org in (None, c.code)]
        if args.org is not None and not rows:
            settings.closed_period(args.org)  # the service's own "no such organization" refusal
    lines = [f"{c.code}: {CLOSED_PERIOD_LABEL}: {CLOSED_PERIOD_CHOICES[c.closed_period]} "
             f"({c.closed_period.value.replace('_', '-')})" for c in rows] or ["No organizations yet."]
    emit(args, [{"org": c.code, "closed_period": c.closed_period.value} for c in rows], "\n".join(lines))
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("settings", help="an organization's posting choices (closed period)",
                       parents=[common, json_opt])
    actions = p.add_subparsers(dest="settings_action", required=True)
    show = actions.add_parser("show", help="show the choices", parents=[common, json_opt])
    show.add_argument("--org", help="only this organization (its RMS code, e.g. KIWI-NZ)")
    show.set_defaults(handler=_run)
    change = actions.add_parser("set", help="change a choice (admins only; audited)", parents=[common, json_opt])
    change.add_argument("--org", required=True, help="the organization's RMS code, e.g. KIWI-NZ")
    change.add_argument("setting", choices=["closed-period"],
                        help="closed-period: what happens to a document dated in a period the ledger has closed")
    change.add_argument("value", metavar="VALUE",
                        help="first-open-day (date it on the first open day) or quarantine (hold it for a person)")
    change.set_defaults(handler=_run)
