"""``returns-ledger fx list|set|remove --org ORG``: the exchange rates an admin enters.

Xero publishes no exchange rates through its API, so a Xero organization's foreign-currency
returns use these (home-currency units per one foreign unit, valid from their date until the
next); QuickBooks companies use them where QuickBooks has none for the day.
"""

from __future__ import annotations

import argparse
from typing import Any

from desktop.commands import emit, iso_date
from desktop.services.core.config import AppConfig


def _run(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.admin.fx_rates import FxRateSettings, parse_rate
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        rates = FxRateSettings(rt.database, rt.clock)
        if args.fx_action == "set":
            rates.set(rt.actor, args.org, args.currency, args.date, parse_rate(args.rate),
                      confirm=args.confirm)
        elif args.fx_action == "remove" and not rates.remove(rt.actor, args.org, args.currency,
                                                             args.date):
            emit(args, {"org": args.org, "removed": False},
                 f"{args.org} has no {args.currency.upper()} rate from {args.date}")
            return 1
        table = rates.table(args.org)
    lines = [f"Exchange rates of {args.org} (home-currency units per one foreign unit, each from its date on)"]
    lines += [f"  {cur} from {day}: {rate}" for cur, days in table.items() for day, rate in days.items()] or [
        "  none entered"]
    emit(args, {"org": args.org, "fx_rates": table}, "\n".join(lines))
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("fx", help="exchange rates entered for an organization (Xero publishes none)",
                       parents=[common, json_opt])
    actions = p.add_subparsers(dest="fx_action", required=True)
    for name, helptext in (("list", "show the rates"), ("set", "use a rate from a date on"),
                           ("remove", "forget the rate entered for a date")):
        a = actions.add_parser(name, help=helptext, parents=[common, json_opt])
        a.add_argument("--org", required=True, help="the organization's RMS code, e.g. KIWI-NZ")
        if name != "list":
            a.add_argument("--currency", required=True, help="ISO 4217 code of the foreign currency, e.g. AUD")
            a.add_argument("--date", required=True, type=iso_date,
                           help="first day the rate applies (YYYY-MM-DD)")
        if name == "set":
            a.add_argument("--rate", required=True, help="home-currency units per one foreign unit, e.g. 1.0925")
            a.add_argument("--confirm", action="store_true",
                           help="accept a rate more than 20%% away from the one in force (asked otherwise)")
        a.set_defaults(handler=_run)
