"""``returns-ledger runs list|show|undo``: sync runs, what each posted, and taking a run back.

``runs list [--org ORG]`` lists push runs (and the undos of runs), newest first: id, organization,
started, finished, and how many documents each posted (still live / taken back). ``runs show RUN``
lists what the run posted. ``runs undo RUN`` voids every document of the run in the ledger — or
deletes it where the platform offers no void (QuickBooks journal entries, Xero payments) — through
the outbox, exactly once; tells the RMS; and makes the returns ready to post again (the next sync
plans them with the mapping active then: fix the mapping first, or before the next sync).
``--dry-run`` reads every document from the ledger and shows what would happen, changing nothing.

Documents edited in the ledger since they were posted are listed one by one and the undo refuses
(exit 2) until ``--force`` says to take them back too. With maker-checker on, the undo becomes a
request a second person approves (``approvals approve ID``). Running ``runs undo`` again resumes an
undo that stopped (a failed void, the RMS down, the process killed) and otherwise does nothing.

Exit codes (``desktop.services.core.failures``): 0 done, nothing to do, or waiting for approval ·
1 finished with problems listed (run it again) · 2 needs a person (edited documents, no such run) ·
3 permission denied (undo: operator or admin).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig

if TYPE_CHECKING:
    from desktop.services.pipeline.runs import RunDocument
    from desktop.services.pipeline.undo import UndoReport, UndoService
    from desktop.services.runtime import Runtime

EXIT = {"preview": 0, "done": 0, "nothing_to_do": 0, "awaiting_approval": 0, "partial": 1, "refused": 2}


def undo_service(rt: Runtime) -> UndoService:
    """The undo service over the runtime's database, connections and RMS client."""
    from desktop.services.pipeline.undo import UndoService
    from desktop.services.runtime import rms_client_factory
    return UndoService(rt.database, rt.clock, rt.bus, rt.connections,
                       rms_client_factory(rt.database, rt.vault, rt.connections.stopping))


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def _docs(docs: list[RunDocument]) -> str:
    if not docs:
        return "No documents."
    return _table(("RMA", "TYPE", "NUMBER", "TOTAL", "STATE", "LEDGER", "ACTION", "NOTE"), [
        (d.rma or "-", d.doc_type, d.number or d.remote_id or "-",
         f"{d.total.amount} {d.total.currency}" if d.total is not None else "-", d.state, d.ledger or "-",
         d.action or "-", (d.note or "") + ("" if d.in_run else " (same return, other run)")) for d in docs])


def _report_text(report: UndoReport) -> str:
    run = report.run
    head = {"preview": f"Dry run: undoing run {run.id} would take back {report.counts.get('to_void', 0)} "
                       f"document(s) by void and {report.counts.get('to_delete', 0)} by delete.",
            "refused": f"Run {run.id} was not undone: {len(report.edited)} document(s) were edited in the ledger "
                       "since they were posted (below). Nothing was voided. Check them, then run "
                       f"`returns-ledger runs undo {run.id} --force` to take them back too.",
            "awaiting_approval": f"Undoing run {run.id} waits for a second person's approval (request "
                                 f"{report.approval}: `returns-ledger approvals approve {report.approval}`).",
            "nothing_to_do": f"Run {run.id} has nothing left to undo.",
            }.get(report.outcome)
    if head is None:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(report.counts.items()) if v)
        head = (f"Run {run.id} undone: {counts}." if report.outcome == "done" else
                f"Run {run.id} partly undone ({counts}); run `returns-ledger runs undo {run.id}` again "
                "to finish.")
    return head + ("\n" + _docs(report.documents) if report.documents else "")


def _run(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        svc, actor, what = undo_service(rt), rt.actor, args.runs_command
        if what == "list":
            runs = svc.runs(actor, args.org)
            emit(args, [r.to_json() for r in runs], _table(
                ("ID", "ORG", "KIND", "STATUS", "STARTED", "FINISHED", "POSTED", "LIVE", "UNDONE"),
                [(str(r.id), r.org or "-", r.kind + (f" of {r.of_run}" if r.of_run else ""), r.status,
                  _when(r.started), _when(r.finished), str(r.posted), str(r.live), str(r.undone)) for r in runs])
                if runs else "No sync runs.")
            return 0
        if what == "show":
            summary, docs = svc.show(actor, args.run)
            emit(args, {"run": summary.to_json(), "documents": [d.to_json() for d in docs]},
                 f"Run {summary.id} ({summary.kind}, {summary.org or '-'}, {summary.status}), started "
                 f"{_when(summary.started)}, finished {_when(summary.finished)}: posted {summary.posted}, "
                 f"live {summary.live}, undone {summary.undone}\n" + _docs(docs))
            return 0
        report = svc.preview(actor, args.run) if args.dry_run else svc.undo(actor, args.run, force=args.force)
    emit(args, report.to_json(), _report_text(report))
    return EXIT.get(report.outcome, 1)


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("runs", parents=[common], help="sync runs: list, show what one posted, undo one")
    actions = p.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    ls = actions.add_parser("list", parents=[common, json_opt], help="push runs and undos, newest first")
    ls.add_argument("--org", metavar="ORG", help="one organization's runs")
    ls.set_defaults(handler=_run)
    show = actions.add_parser("show", parents=[common, json_opt], help="what a run posted")
    show.add_argument("run", metavar="RUN", type=int, help="the run's id (`runs list`)")
    show.set_defaults(handler=_run)
    undo = actions.add_parser("undo", parents=[common, json_opt],
                              help="void (or delete) every document of a run in the ledger, exactly once")
    undo.add_argument("run", metavar="RUN", type=int, help="the run's id (`runs list`)")
    undo.add_argument("--dry-run", action="store_true", help="read the ledger and show what would happen")
    undo.add_argument("--force", action="store_true", help="take back documents edited in the ledger too")
    undo.set_defaults(handler=_run)
