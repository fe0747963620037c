"""``returns-ledger usage [--org ORG] [--json]``: metered ledger calls against the tier's allowance.

QuickBooks reads this month against the monthly allowance, Xero calls today against the daily
limit — the figures the Dashboard's usage meter shows (:func:`desktop.services.queries.usage.usage_report`).
Allowances default to the free tiers (QuickBooks Builder 500,000 reads a month, Xero Starter 1,000
calls a day); the ``usage.allowance`` setting of an organization, or the global
``usage.allowance.qbo`` / ``usage.allowance.xero``, overrides them.
"""

from __future__ import annotations

import argparse
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig


def _usage(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.queries.usage import usage_report
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        report = usage_report(rt.database, rt.clock, args.org, rt.connections.usage, rt.connections.allowance)
    emit(args, report.to_json(), report.text())
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("usage", help="metered ledger API calls against the tier's allowance, per organization",
                       parents=[common, json_opt])
    p.add_argument("--org", help="one organization (default: all)")
    p.set_defaults(handler=_usage)
