"""``returns-ledger sync --once`` and ``returns-ledger worker``: headless sync.

``sync --once [--org ORG]`` runs one full cycle per organization — RMS ingest, plan and post the
outbox, ledger pull — the same chain the scheduler's "sync now" runs, and prints the totals. A
progress bar on stderr shows what each organization is doing and how many documents are posted of
those waiting (not with ``--json``, nor when stderr is not a terminal). Ctrl+C stops between RMS
pages and outbox batches — never in the middle of a post: what was posted stays posted, the rest
waits in the outbox — and the command prints what was done and exits 130. What
was posted, failed or is uncertain comes from the database (the push runs this process recorded),
so the summary is true even when a step died part-way.

``worker`` runs the scheduler until stopped (SIGTERM or Ctrl-C): it stops taking work, lets the
steps in flight finish, releases outbox leases it had not used, and exits 0. With
``--webhook-port N`` it also listens on loopback for signed QBO / Xero webhooks (put a TLS proxy in
front for the real services) and pulls the organization a webhook names. Several workers may share
one PostgreSQL database (``--db postgresql+psycopg://…``): outbox claims never overlap.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from desktop.commands import emit
from desktop.commands._progress_bar import StderrBar, stop_on_interrupt
from desktop.services.core.config import AppConfig
from desktop.services.core.failures import EXIT_CODES

if TYPE_CHECKING:
    from desktop.services.pipeline.scheduler import SyncScheduler
    from desktop.services.runtime import Runtime
TOTALS = ("ingested", "quarantined", "posted", "failed", "uncertain", "pulled_changes")


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@contextmanager
def scheduler_for(rt: Runtime, *, worker_id: str | None = None, parallel: int | None = None
                  ) -> Iterator[SyncScheduler]:
    """A scheduler over the real pipeline (not started); shut down when the block ends."""
    from desktop.services.runtime import sync_scheduler
    sched = sync_scheduler(rt.database, rt.bus, rt.clock, rt.connections, rt.vault, rt.actor, worker_id=worker_id,
                           parallel=parallel)
    try:
        yield sched
    finally:
        sched.shutdown(wait=True)


def connected_orgs(rt: Runtime) -> list[str]:
    """Active organizations with a working ledger connection, by code."""
    import sqlalchemy as sa

    from desktop.services.store.models import ConnectionStatus, LedgerConnection, Organization
    with rt.database.session() as s:
        return list(s.execute(
            sa.select(Organization.code).join(LedgerConnection)
            .where(Organization.is_active.is_(True), LedgerConnection.status == ConnectionStatus.CONNECTED)
            .distinct().order_by(Organization.code)).scalars())


def _add_totals(totals: dict[str, int], step: str, counts: Any) -> None:
    """Ingest, planning and pull counts of one step. What the push did is not taken from here: a
    push that dies part-way returns no counts, so :func:`push_totals` reads it from the database."""
    if not isinstance(counts, dict) or "error" in counts or "skipped" in counts:
        return
    if step == "ingest":
        totals["ingested"] += int(counts.get("ingested", 0))
        totals["quarantined"] += int(counts.get("quarantined", 0))
    elif step == "push":
        planned = counts.get("planned") or {}
        totals["quarantined"] += int(planned.get("quarantined", 0)) if isinstance(planned, dict) else 0
    elif step == "pull":
        totals["pulled_changes"] += int(counts.get("pulled_changes", 0))


def _failure_text(error: Any) -> str:
    """A failed step in a person's words: a service's message and what to do; for anything else
    (a bug) no raw exception text — the traceback is in the log file."""
    if isinstance(error, dict) and "kind" in error:  # AppError.as_dict()
        action = error.get("action")
        return f"{error.get('message')}{f' — {action}' if action else ''}"
    kind = error.get("type", "error") if isinstance(error, dict) else "error"
    return f"it stopped unexpectedly ({kind}); the details are in the log file"


def _once(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.core.errors import NeedsPersonError
    from desktop.services.core.progress import Tracker
    from desktop.services.pipeline.engine import push_totals
    from desktop.services.runtime import open_runtime
    totals = dict.fromkeys(TOTALS, 0)
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []  # not failures: an incomplete change feed, a used-up allowance
    bar = StderrBar(args)
    cancelled = False
    with open_runtime(config) as rt, scheduler_for(rt, parallel=args.parallel) as sched, \
            stop_on_interrupt("Stopping after the batch being posted…") as stop:
        orgs = [args.org] if args.org else connected_orgs(rt)
        if not orgs:
            raise NeedsPersonError("No organization is connected to a ledger",
                                   action="run `returns-ledger demo init` or `returns-ledger connect` first")
        since = rt.clock.now()
        progress = Tracker(bar.counts, stop)  # Ctrl+C: stop between RMS pages and outbox batches, never mid-post
        try:
            running = {org: sched.sync_now(org, progress) for org in orgs}  # ``parallel`` organizations at a time
            for org in orgs:
                for step, counts in running[org].result().items():
                    _add_totals(totals, step, counts)
                    cancelled = cancelled or step == "cancelled"
                    if isinstance(counts, dict) and "error" in counts:
                        errors.append({"org": org, "step": step, "error": _failure_text(counts["error"])})
                    if isinstance(counts, dict) and counts.get("incomplete"):
                        warnings.append({"org": org, "step": step,
                                         "warning": f"the ledger read-back was incomplete: {counts['incomplete']}"})
        finally:
            bar.close()
        pushed = push_totals(rt.database, sched.worker_id, since)  # the outbox's word, not a tally
        warnings += [{"org": org, "step": "allowance", "warning": f"{u.text}. {u.advice}"}
                     for org in orgs for u in rt.connections.allowance.for_org(org)]
    for key in ("posted", "failed", "uncertain"):
        totals[key] = pushed[key]
    totals["quarantined"] += pushed["quarantined"]
    data: dict[str, Any] = dict(totals)
    if errors:
        data["errors"] = errors
    if warnings:
        data["warnings"] = warnings
    text = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in totals.items())
    text += "".join(f"\n  {e['org']} {e['step']} failed: {e['error']}" for e in errors)
    text += "".join(f"\n  {w['org']}: {w['warning']}" for w in warnings)
    if cancelled:
        data["cancelled"] = True
        text += ("\nStopped on request: what was posted stays posted; documents not sent wait in the outbox "
                 "for the next sync.")
    emit(args, data, f"Sync of {', '.join(orgs)}: {text}")
    return EXIT_CODES["interrupted"] if cancelled else 1 if errors else 0


def _worker(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.runtime import open_runtime
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open_runtime(config) as rt, scheduler_for(rt, parallel=args.parallel) as sched:
            orgs = connected_orgs(rt)
            sched.start(orgs)
            receiver = _start_webhooks(args, rt, sched) if args.webhook_port is not None else None
            subscribed = _sandbox_subscriptions(rt, receiver, subscribe=True) if receiver else []
            _say(f"worker {sched.worker_id}: scheduling {', '.join(orgs) or 'no organizations'}"
                 + (f"; webhooks at {receiver.url}" if receiver else "")
                 + (f" (sandbox {'/'.join(subscribed)} subscribed)" if subscribed else "")
                 + " (SIGTERM or Ctrl-C stops)")
            if not args.no_initial_sync:
                sched.sync_all(orgs)
            while not stop.wait(0.5):
                pass
            _say("worker: stopping — finishing the work in flight")
            if receiver is not None:
                _sandbox_subscriptions(rt, receiver, subscribe=False)
                receiver.stop()
            released = sched.shutdown(wait=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say(f"worker: stopped cleanly{f' ({released} leases released)' if released else ''}")
    return 0


def _start_webhooks(args: argparse.Namespace, rt: Runtime, sched: SyncScheduler) -> Any:
    """The loopback webhook receiver; its keys come from the keyring (``runtime.load_webhook_key``)."""
    import sqlalchemy as sa

    from desktop.services.pipeline.webhooks import Notification, WebhookReceiver
    from desktop.services.platforms.registry import PROFILES
    from desktop.services.runtime import load_webhook_key
    from desktop.services.store.models import LedgerConnection, Organization
    def on_notifications(notes: list[Notification]) -> None:
        companies = {n.company_id for n in notes}
        with rt.database.session() as s:
            orgs = set(s.execute(sa.select(Organization.code).join(LedgerConnection)
                                 .where(LedgerConnection.remote_id.in_(companies))).scalars())
        for org in sorted(orgs):
            sched.trigger(org, "pull")

    receiver = WebhookReceiver(on_notifications, {key: load_webhook_key(rt.vault, key) for key in PROFILES},
                               clock=rt.clock, port=args.webhook_port)
    receiver.start()
    return receiver


def _sandbox_subscriptions(rt: Runtime, receiver: Any, *, subscribe: bool) -> list[str]:
    """Point (or stop pointing) the local sandbox's webhooks at ``receiver``; the real services are
    configured in their developer portals instead. Returns the platforms (un)subscribed."""
    import requests

    from desktop.services.auth.platforms import Environment, Platform
    from desktop.services.core.errors import ConfigurationError
    from desktop.services.platforms.http import check_transport
    from desktop.services.runtime import load_webhook_key
    done: list[str] = []
    for platform in Platform:
        try:
            root = rt.connections.apps.get(platform, Environment.LOCAL).sandbox_url
        except ConfigurationError:
            continue
        key = load_webhook_key(rt.vault, platform.value)
        if not root or not key:
            continue
        url = f"{receiver.url}/webhooks/{platform.value}" if subscribe else ""
        check_transport(root)
        try:
            resp = requests.post(f"{root}/_sandbox/webhooks", json={"service": platform.value, "url": url,
                                                                    "key": key if subscribe else ""}, timeout=30)
        except requests.RequestException:
            continue  # the sandbox is gone: nothing to (un)subscribe from
        if resp.status_code < 400:
            done.append(platform.value)
    return done


PARALLEL_HELP = ("organizations synced at most at once (1 to 64; default: the sync.parallel_organizations "
                 "setting, else every organization with work, up to 64); each keeps its own ledger rate limits")


def _parallel(text: str) -> int:
    from desktop.services.pipeline.scheduler import MAX_PARALLEL
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PARALLEL:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_PARALLEL}")
    return value


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    sync = sub.add_parser("sync", parents=[common, json_opt], help="run one sync cycle (ingest, post, pull)",
                          description="Run one full cycle — RMS ingest, plan and post, ledger pull — for every "
                                      "connected organization (or --org), then exit. Exit code 1 if a step failed.")
    sync.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    sync.add_argument("--org", metavar="ORG", help="only this organization (its code, e.g. ACME-US)")
    sync.add_argument("--parallel", type=_parallel, metavar="N", help=PARALLEL_HELP)
    sync.set_defaults(handler=_once)

    worker = sub.add_parser("worker", parents=[common], help="run the sync scheduler until stopped",
                            description="Run every organization's scheduled jobs until SIGTERM / Ctrl-C, "
                                        "then finish the work in flight and exit 0.")
    worker.add_argument("--webhook-port", type=int, metavar="N",
                        help="also receive signed QBO/Xero webhooks on 127.0.0.1:N (0: any free port)")
    worker.add_argument("--no-initial-sync", action="store_true",
                        help="do not run a cycle for every organization at start-up")
    worker.add_argument("--parallel", type=_parallel, metavar="N", help=PARALLEL_HELP)
    worker.set_defaults(handler=_worker)
