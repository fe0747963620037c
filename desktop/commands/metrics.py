"""``returns-ledger metrics [--org ORG] [--json]``: the dashboard's numbers, per month.

Sync accuracy rate, average time to reconcile, and errors prevented (pre-flight stops and
duplicates refused), computed from the database (``desktop.services.reconcile.metrics``).
"""

from __future__ import annotations

import argparse
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def render_text(rows: list[dict[str, Any]], org: str | None) -> str:
    head = f"Metrics{' for ' + org if org else ''} (per month of ledger date)"
    if not rows:
        return head + "\n  nothing yet: no documents, quarantines or refused duplicates recorded"
    lines = [head, f"  {'month':<8} {'due':>7} {'posted':>7} {'verified':>8} {'accuracy':>9} "
                   f"{'avg reconcile':>13} {'errors prevented':>16}"]
    for r in rows:
        acc = f"{r['accuracy_pct']}%" if r["accuracy_pct"] is not None else "-"
        lines.append(f"  {r['month']:<8} {r['due']:>7} {r['posted']:>7} {r['verified']:>8} {acc:>9} "
                     f"{_duration(r['avg_reconcile_s']):>13} {r['errors_prevented']:>16}")
    return "\n".join(lines)


def _metrics(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.reconcile.metrics import monthly_metrics
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        rows = [m.to_json() for m in monthly_metrics(rt.database, args.org)]
    emit(args, {"org": args.org, "months": rows}, render_text(rows, args.org))
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("metrics", help="sync accuracy, time to reconcile and errors prevented, per month",
                       parents=[common, json_opt])
    p.add_argument("--org", help="one organization (default: all)")
    p.set_defaults(handler=_metrics)
