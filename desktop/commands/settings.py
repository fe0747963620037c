"""``returns-ledger settings show|set``: an organization's posting choices (admins change them).

``settings show [--org ORG]`` lists the four (posting mode, fees withheld, closed period, store
credit); ``settings set --org ORG SETTING VALUE`` changes one, e.g. ``closed-period first-open-day``
or ``store-credit liability``. The same choices as "Posting choices" on the Settings page, with
the same words, through the same service (:mod:`desktop.services.admin.org_settings`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig
from desktop.services.core.domain import POSTING_SETTINGS

SETTINGS_HELP = "; ".join(
    f"{s.kebab}: {' | '.join(v.value.replace('_', '-') for v in s.choices)}" for s in POSTING_SETTINGS.values())


def _run(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.admin.org_settings import PostingSettings, kebab, parse_setting, parse_value
    from desktop.services.core.domain import Component, StoreCreditTreatment
    from desktop.services.mapping.service import MappingService
    from desktop.services.runtime import open_runtime
    shown = list(POSTING_SETTINGS.values())
    note = None
    with open_runtime(config) as rt:
        settings = PostingSettings(rt.database, rt.clock)
        if args.settings_action == "set":
            setting = parse_setting(args.setting)
            value = parse_value(setting, args.value)
            settings.set(rt.actor, args.org, setting.name, value)
            shown = [setting]
            if value is StoreCreditTreatment.LIABILITY:
                missing = MappingService(rt.database, rt.clock).missing_rule(args.org, Component.STORE_CREDIT)
                if missing:
                    note = (f"Note: {missing}: returns refunded as store credit will wait for a person until an admin "
                            "adds one on the Mappings page (or `returns-ledger mapping import`).")
        rows = [c for c in settings.choices() if args.org in (None, c.code)]
        if args.org is not None and not rows:
            settings.current(args.org)  # the service's own "no such organization" refusal
    lines = [f"{c.code}: {s.label}: {s.choices[c.value(s.name)]} ({kebab(c.value(s.name))})"
             for c in rows for s in shown] or ["No organizations yet."]
    emit(args, [{"org": c.code, **{s.name: c.value(s.name).value for s in POSTING_SETTINGS.values()}} for c in rows],
         "\n".join(lines))
    if note:
        print(note, file=sys.stderr)  # noqa: T201 - a CLI prints; stderr keeps --json output clean
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("settings", help="an organization's posting choices (posting mode, fees, closed period, "
                       "store credit)", parents=[common, json_opt])
    actions = p.add_subparsers(dest="settings_action", required=True)
    show = actions.add_parser("show", help="show the choices", parents=[common, json_opt])
    show.add_argument("--org", help="only this organization (its RMS code, e.g. KIWI-NZ)")
    show.set_defaults(handler=_run)
    change = actions.add_parser("set", help="change a choice (admins only; audited)", parents=[common, json_opt],
                                epilog=f"Settings and values: {SETTINGS_HELP}.")
    change.add_argument("--org", required=True, help="the organization's RMS code, e.g. KIWI-NZ")
    change.add_argument("setting", choices=[s.kebab for s in POSTING_SETTINGS.values()],
                        help="which choice: " + ", ".join(s.kebab for s in POSTING_SETTINGS.values()))
    change.add_argument("value", metavar="VALUE", help=f"the new value ({SETTINGS_HELP})")
    change.set_defaults(handler=_run)
