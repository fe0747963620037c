"""``returns-ledger metrics [--org ORG] [--from DATE] [--to DATE] [--csv FILE] [--json]``: the Dashboard's figures.

Sync accuracy, time to reconcile (median and p95) and errors prevented for a period (default:
the last 30 days, today included) and the monthly trend up to its end — the very report the
Dashboard draws (:func:`desktop.services.queries.metrics.metrics_report`), written with the same
formatters. ``--csv`` writes it as the Dashboard's "Export metrics…" does.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from desktop.commands import emit, iso_date
from desktop.services.core.config import AppConfig


def render_text(report: Any) -> str:
    from desktop.services.queries.metrics import DEFINITIONS, format_duration, format_pct
    h = report.headline
    who = f" for {report.org}" if report.org else ""
    lines = [f"Metrics{who}, {h.label}",
             f"  Sync accuracy       {format_pct(h.accuracy_pct):>9}  {h.verified:,} of {h.due:,} documents due "
             f"verified" + (f" ({h.held:,} held by pre-flight)" if h.held else ""),
             f"  Time to reconcile   {format_duration(h.reconcile_median_s):>9}  median · p95 "
             f"{format_duration(h.reconcile_p95_s)}",
             f"  Errors prevented    {h.errors_prevented:>9,}  {h.preflight_refusals:,} pre-flight refusals, "
             f"{h.duplicate_refusals:,} duplicates refused", "",
             f"  {'month':<9} {'due':>6} {'verified':>8} {'accuracy':>9} {'median':>10} {'p95':>10} {'prevented':>9}"]
    for m in report.months:
        lines.append(f"  {m.label:<9} {m.due:>6,} {m.verified:>8,} {format_pct(m.accuracy_pct):>9} "
                     f"{format_duration(m.reconcile_median_s):>10} {format_duration(m.reconcile_p95_s):>10} "
                     f"{m.errors_prevented:>9,}")
    lines += ["", "Definitions:"] + [f"  {key.replace('_', ' ').capitalize()}: {text}"
                                      for key, text in DEFINITIONS.items()]
    return "\n".join(lines)


def _metrics(args: argparse.Namespace, config: AppConfig) -> int:
    from datetime import timedelta

    from desktop.services.core.errors import ConfigurationError
    from desktop.services.core.progress import write_file
    from desktop.services.queries.metrics import HEADLINE_DAYS, metrics_report
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        end = args.to or (args.start + timedelta(days=HEADLINE_DAYS - 1) if args.start else rt.clock.now().date())
        if args.start is not None and args.start > end:
            raise ConfigurationError(f"--from {args.start} is after --to {end}", action="swap the two dates")
        report = metrics_report(rt.database, args.org, end=end, start=args.start)
    if args.csv is not None:
        write_file(Path(args.csv), report.csv_text(), what="metrics export")
    emit(args, report.to_json(), render_text(report) + (f"\n\nWrote {args.csv}" if args.csv else ""))
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("metrics", help="sync accuracy, time to reconcile and errors prevented; the monthly trend",
                       parents=[common, json_opt])
    p.add_argument("--org", help="one organization (default: all)")
    p.add_argument("--from", dest="start", type=iso_date, metavar="DATE",
                   help="first ledger date of the headline period (default: 29 days before --to)")
    p.add_argument("--to", type=iso_date, metavar="DATE", help="last day of the headline period (default: today)")
    p.add_argument("--csv", metavar="FILE", help="also write the figures to FILE as CSV (as the Dashboard exports)")
    p.set_defaults(handler=_metrics)
