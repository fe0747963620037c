"""``returns-ledger metrics [--org ORG] [--month YYYY-MM] [--csv FILE] [--json]``: the Dashboard's figures.

Sync accuracy, time to reconcile (median and p95) and errors prevented for one month (default:
this month) and the monthly trend before it — the very report the Dashboard draws
(:func:`desktop.services.queries.metrics.metrics_report`), written with the same formatters.
``--csv`` writes the trend as the Dashboard's "Export metrics CSV…" does.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig


def _month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM, e.g. 2026-11)")
    return text.strip()


def render_text(report: Any) -> str:
    from desktop.services.queries.metrics import DEFINITIONS, format_duration, format_pct, month_label
    h = report.headline
    who = f" for {report.org}" if report.org else ""
    lines = [f"Metrics{who}, {month_label(report.period)}",
             f"  Sync accuracy       {format_pct(h.accuracy_pct):>9}  {h.verified:,} of {h.due:,} documents due "
             f"verified" + (f" ({h.held:,} held by pre-flight)" if h.held else ""),
             f"  Time to reconcile   {format_duration(h.reconcile_median_s):>9}  median · p95 "
             f"{format_duration(h.reconcile_p95_s)}",
             f"  Errors prevented    {h.errors_prevented:>9,}  {h.preflight_refusals:,} pre-flight refusals, "
             f"{h.duplicate_refusals:,} duplicates refused", "",
             f"  {'month':<9} {'due':>6} {'verified':>8} {'accuracy':>9} {'median':>10} {'p95':>10} {'prevented':>9}"]
    for m in report.months:
        lines.append(f"  {month_label(m.month):<9} {m.due:>6,} {m.verified:>8,} {format_pct(m.accuracy_pct):>9} "
                     f"{format_duration(m.reconcile_median_s):>10} {format_duration(m.reconcile_p95_s):>10} "
                     f"{m.errors_prevented:>9,}")
    lines += ["", "Definitions:"] + [f"  {key.replace('_', ' ').capitalize()}: {text}"
                                      for key, text in DEFINITIONS.items()]
    return "\n".join(lines)


def _metrics(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.queries.metrics import metrics_report
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        report = metrics_report(rt.database, args.org, period=args.month or rt.clock.now().date())
    if args.csv is not None:
        Path(args.csv).write_text(report.csv_text(), encoding="utf-8", newline="")
    emit(args, report.to_json(), render_text(report) + (f"\n\nWrote {args.csv}" if args.csv else ""))
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("metrics", help="sync accuracy, time to reconcile and errors prevented, per month",
                       parents=[common, json_opt])
    p.add_argument("--org", help="one organization (default: all)")
    p.add_argument("--month", type=_month, help="the headline month, YYYY-MM (default: this month)")
    p.add_argument("--csv", metavar="FILE", help="also write the monthly figures to FILE as CSV")
    p.set_defaults(handler=_metrics)
