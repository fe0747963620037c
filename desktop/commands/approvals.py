"""``returns-ledger approvals list|approve|reject|threshold``: maker-checker from the command line.

The same ``ApprovalService`` as the dashboard's Approvals card. ``approve`` does what was asked (the
manual entry is recorded and queued, the adjusting entry queued, the document voided, the mapping
version made active) in the transaction that records the approval; ``reject`` changes nothing else.
Deciding one's own request is refused (exit 3), as is deciding without the role the action needs
(mapping changes: admin; money: operator or admin). ``threshold`` is an admin's setting.

Exit codes (``desktop.services.core.failures``): 0 done · 2 needs a person (no such request, already
decided, no note on a rejection, the return changed since) · 3 permission denied.
"""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig

if TYPE_CHECKING:
    from desktop.services.manual.approvals import ApprovalService
    from desktop.services.runtime import Runtime

KINDS = ("manual_entry", "adjustment", "void", "mapping", "undo_run")
STATUSES = ("pending", "approved", "rejected", "all")


def service(rt: Runtime) -> ApprovalService:
    """The approvals service over the runtime's database, wired as the app wires it."""
    from desktop.services.manual import ManualEntryService
    from desktop.services.manual.approvals import ApprovalService
    from desktop.services.mapping.service import MappingService
    from desktop.services.reconcile.adjust import AdjustService
    mapping = MappingService(rt.database, rt.clock, rt.bus)
    from desktop.commands.runs import undo_service
    return ApprovalService(rt.database, rt.clock, rt.bus,
                           ManualEntryService(rt.database, rt.clock, rt.bus, mapping, rt.connections), mapping,
                           AdjustService(rt.database, rt.clock, rt.bus, mapping), undo_service(rt))


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount (e.g. 500 or 1250.00)") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the threshold is an amount of 0 or more")
    return value


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    wrong = [k for k in kinds if k not in KINDS]
    if wrong or not kinds:
        raise argparse.ArgumentTypeError(f"{text!r}: name kinds of {', '.join(KINDS)}, separated by commas")
    return kinds


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No approval requests."
    lines = [("ID", "ORG", "KIND", "STATUS", "AMOUNT", "ASKED BY", "WHAT")] + [
        (str(r["id"]), r["organization"], r["kind"], r["status"],
         f"{r['amount']} {r['currency']}" if r["amount"] is not None else "-", r["requested_by"], r["summary"])
        for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(6)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(line[:6], widths, strict=True)), line[6]]).rstrip()
                     for line in lines)


def _run(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.admin.approvals import ApprovalKind, ApprovalStatus
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        svc, actor, what = service(rt), rt.actor, args.approvals_command
        if what == "list":
            status = None if args.status == "all" else ApprovalStatus(args.status)
            rows = [v.to_json() for v in svc.requests(actor, status=status, org=args.org)]
            emit(args, rows, _table(rows))
            return 0
        if what == "threshold":
            kinds = [ApprovalKind(k) for k in args.kinds] if args.kinds else None
            policy = svc.set_threshold(actor, args.org, None if args.off else args.amount, kinds)
            emit(args, policy.to_json(), f"{policy.org}: maker-checker is " + (
                f"on from {policy.threshold} {policy.home_currency} for "
                f"{', '.join(sorted(k.value for k in policy.kinds))} (mapping changes always)"
                if policy.on else "off"))
            return 0
        if what == "approve":
            view = svc.approve(actor, args.id, args.note or "")
        else:
            view = svc.reject(actor, args.id, args.note)
    emit(args, view.to_json(), f"Request {view.id} {view.status.value}: {view.summary}.")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("approvals", parents=[common],
                       help="maker-checker: list, approve and reject requests; set the threshold (admins)")
    actions = p.add_subparsers(dest="approvals_command", metavar="ACTION", required=True)
    ls = actions.add_parser("list", parents=[common, json_opt], help="requests (pending by default), oldest first")
    ls.add_argument("--status", choices=STATUSES, default="pending")
    ls.add_argument("--org", metavar="ORG", help="one organization's requests")
    ls.set_defaults(handler=_run)
    for name, helptext, note_required in (
            ("approve", "approve a request and do what it asks (not your own)", False),
            ("reject", "reject a request with a note: nothing of it happens", True)):
        a = actions.add_parser(name, parents=[common, json_opt], help=helptext)
        a.add_argument("id", metavar="ID", type=int, help="the request's number (`approvals list`)")
        a.add_argument("--note", metavar="TEXT", required=note_required,
                       help="why (kept in the audit trail)" + ("" if note_required else "; optional"))
        a.set_defaults(handler=_run)
    t = actions.add_parser("threshold", parents=[common, json_opt],
                           help="turn maker-checker on from an amount in the home currency, or off (admins)")
    t.add_argument("--org", metavar="ORG", required=True)
    onoff = t.add_mutually_exclusive_group(required=True)
    onoff.add_argument("--amount", metavar="N", type=_amount, help="money requests of N or more (home currency) wait")
    onoff.add_argument("--off", action="store_true", help="nothing waits for approval")
    t.add_argument("--kinds", metavar="LIST", type=_kinds,
                   help=f"comma-separated, of {', '.join(KINDS)} (default: all)")
    t.set_defaults(handler=_run)
