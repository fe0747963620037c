"""``returns-ledger reconcile --org ORG --from DATE --to DATE [--json] [--rms-api]``.

Reconciles one organization over a period of ledger dates — the RMS mirror, our database and
the ledger read live — records the run, updates the review queue, and prints every variance::

    {"org", "from", "to",
     "totals": {"by_currency": {CUR: {"rms", "expected", "ledger", "difference", "explained",
                                      "not_posted", "steps": [{"step", "label", "amount"}], …}},
                "by_day": [...], "by_account": [...], "documents": {...}},
     "variances": [{"class", "rma", "ledger_id", "currency", "difference", "fields": {name: {"rms", "ledger"}}}]}

Per currency the bridge goes RMS refunds → the ledger effect they imply (``expected``) → the
ledger; ``difference`` (ledger − expected) always equals ``explained``, the sum of the
variances' differences.

``--rms-api`` also asks the RMS API itself which returns exist (slower; finds what the mirror
has not ingested). Exit code 0 when the run completed (variances or not), 1 when it could not.
A progress bar on stderr names each phase (not with ``--json``, nor when stderr is not a
terminal); Ctrl+C stops between phases, records nothing, and exits 130.

The review queue: ``returns-ledger variances list --org ORG [--status open|resolved|accepted|all]``,
``variances resolve --id N --note TEXT`` and ``variances accept --id N [--note TEXT]``.
"""

from __future__ import annotations

import argparse
from typing import Any

from desktop.commands import emit, iso_date
from desktop.commands._progress_bar import StderrBar, stop_on_interrupt
from desktop.services.core.config import AppConfig


def render_text(data: dict[str, Any]) -> str:
    from desktop.services.reconcile.model import class_words
    lines = [f"Reconciliation of {data['org']} {data['from']} … {data['to']}: "
             f"{len(data['variances'])} variance(s), {data.get('matched', 0)} document(s) matched"]
    for cur, row in data["totals"].get("by_currency", {}).items():
        lines.append(f"  {cur}: difference {row['difference']} = variances {row['explained']}")
        for step in row.get("steps", []):
            lines.append(f"    {step['label']:<68.68} {step['amount']:>14}")
    for v in data["variances"]:
        fields = "; ".join(f"{k}: {f.get('rms')} ⟷ {f.get('ledger')}" for k, f in v["fields"].items())
        diff = f"{v['difference']} {v['currency']}" if v.get("difference") is not None else "-"
        what = class_words(v["class"])
        lines.append(f"  {what:<30} {v['rma'] or '-':<22} {v['ledger_id'] or '-':<20} {diff:>16}  {fields}")
    return "\n".join(lines)


def _difference(v: dict[str, Any]) -> str | None:
    from desktop.services.reconcile.bridge import from_minor
    minor = v.get("difference_minor")
    return format(from_minor(int(minor), v.get("currency")), "f") if minor is not None else None


def _reconcile(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.core.progress import Tracker
    from desktop.services.reconcile.model import Period
    from desktop.services.reconcile.service import ReconcileService
    from desktop.services.runtime import open_runtime, rms_client_factory
    period = Period(args.date_from, args.date_to)
    bar = StderrBar(args)
    with open_runtime(config) as rt, stop_on_interrupt("Stopping; nothing will be recorded…") as stop:
        service = ReconcileService(rt.database, rt.bus, rt.clock, rt.connections,
                                   rms_api_for=rms_client_factory(rt.database, rt.vault))
        progress = Tracker(bar.counts, stop)
        try:  # Ctrl+C: OperationCancelled (exit 130), nothing recorded
            report = service.run(args.org, period, actor=rt.actor, check_rms_api=args.rms_api, progress=progress)
        finally:
            bar.close()
    full = report.to_json()
    data = {"org": full["org"], "from": full["from"], "to": full["to"], "totals": full["totals"],
            "matched": full["matched"], "counts": full["counts"],
            "variances": [{"class": v["class"], "rma": v["rma"], "ledger_id": v["ledger_id"], "fields": v["fields"],
                           "doc_type": v["doc_type"], "key": v["key"], "currency": v["currency"],
                           "difference": _difference(v), "effects": v["effects"]} for v in full["variances"]]}
    emit(args, data, render_text(data))
    return 0


def _service(rt: Any) -> Any:
    from desktop.services.reconcile.service import ReconcileService
    return ReconcileService(rt.database, rt.bus, rt.clock, rt.connections)


def _list(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.runtime import open_runtime
    from desktop.services.store.models import VarianceStatus
    status = None if args.status == "all" else VarianceStatus(args.status)
    from desktop.services.reconcile.model import class_words
    with open_runtime(config) as rt:
        rows = _service(rt).queue(args.org, status)
    label = "" if args.status == "all" else f" {args.status}"
    lines = [f"{len(rows)}{label} variance(s) of {args.org}"]
    lines += [f"  #{v['id']:<6} {v['status']:<9} {class_words(v['class']):<30} {v['rma'] or '-':<22} "
              f"{v['ledger_id'] or '-'}"
              + (f"  ({v['note']})" if v["note"] else "") for v in rows]
    emit(args, {"org": args.org, "variances": rows}, "\n".join(lines))
    return 0


def _review(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        service = _service(rt)
        if args.variances_command == "resolve":
            service.resolve(rt.actor, args.id, args.note or "")
        else:
            service.accept(rt.actor, args.id, args.note or "")
    done = "resolved" if args.variances_command == "resolve" else "accepted"
    emit(args, {"id": args.id, "status": done}, f"Variance {args.id} {done}.")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("reconcile", help="compare RMS, database and ledger for a period; list the variances",
                       parents=[common, json_opt])
    p.add_argument("--org", required=True, help="organization code (e.g. ACME-US)")
    p.add_argument("--from", dest="date_from", metavar="DATE", required=True, type=iso_date,
                   help="first ledger date, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", metavar="DATE", required=True, type=iso_date,
                   help="last ledger date, YYYY-MM-DD")
    p.add_argument("--rms-api", action="store_true", help="also read the RMS API itself (not only the mirror)")
    p.set_defaults(handler=_reconcile)

    v = sub.add_parser("variances", help="the reconciliation review queue", parents=[common])
    actions = v.add_subparsers(dest="variances_command", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="list variances", parents=[common, json_opt])
    ls.add_argument("--org", required=True)
    ls.add_argument("--status", choices=("open", "resolved", "accepted", "all"), default="open")
    ls.set_defaults(handler=_list)
    for name, what in (("resolve", "mark a variance fixed (a note is required)"),
                       ("accept", "accept a variance as it is")):
        a = actions.add_parser(name, help=what, parents=[common, json_opt])
        a.add_argument("--id", type=int, required=True)
        a.add_argument("--note", required=name == "resolve")
        a.set_defaults(handler=_review)
