"""The demo shows the work: after its first sync, findings a finance admin would meet, then a reconciliation.

``--demo --screenshots`` (and the guide's pictures made with it) should show a reconciliation with
something in it and a real error in the log, not empty pages. So once the demo's first sync has
finished, :func:`stage_findings` does in the sandbox what an accountant and a flaky ledger would:

- in one QuickBooks and one Xero company, six posted documents are changed in the ledger's own
  screens — an amount edited, one deleted (or voided where the ledger refuses a delete), one
  voided, one duplicated, a tax amount edited, one dated outside the period — so the
  reconciliation finds one variance of each kind;
- one more return arrives in the RMS and the ledger refuses its document once with a validation
  fault, so the error log holds a real failure with its platform code and what to do.

Then every organization is reconciled over the demo's period. Each step is announced on the event
bus in words; a step that fails is logged and skipped (the demo still opens). Nothing here runs
outside the demo: it talks to the sandbox's control API on loopback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
import sqlalchemy as sa

from desktop.services.auth.roles import Actor
from desktop.services.core import exact_json
from desktop.services.core.clock import Clock
from desktop.services.core.events import EventBus
from desktop.services.reconcile.model import Period
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus

__all__ = ["DEMO_PERIOD_DAYS", "Staged", "demo_period", "stage_findings", "untouched_posted"]

log = logging.getLogger(__name__)

#: The demo's returns fall in the last ~4 months; reconciliation covers that and a little ahead.
DEMO_PERIOD_DAYS = 120
#: Which organization's ledger gets changed: (sandbox service, its sales-form document type, what the
#: sandbox's tamper call needs besides — QuickBooks ids are per entity type, so it names the type).
TAMPERED: dict[str, tuple[str, str, dict[str, str]]] = {
    "ACME-US": ("qbo", "CreditMemo", {"type": "CreditMemo"}), "KIWI-NZ": ("xero", "CreditNote", {})}
#: The organization whose next document the ledger refuses once.
FAILING = ("ACME-US", "qbo", r"/v3/company/[^/]+/(batch|creditmemo|refundreceipt)")


@dataclass
class Staged:
    """What was planted and reconciled (for the log and for tests)."""

    tampered: dict[str, list[str]] = field(default_factory=dict)
    failure_planted: bool = False
    reconciled: dict[str, int] = field(default_factory=dict)  # org → variances found


def demo_period(clock: Clock) -> Period:
    today = clock.now().date()
    return Period(today - timedelta(days=DEMO_PERIOD_DAYS), today + timedelta(days=2))


def _control(info: dict[str, Any], path: str, body: dict[str, Any]) -> Any:
    resp = requests.post(f"{info['control_url']}/{path}", data=exact_json.dumps(body),
                         headers={"Content-Type": "application/json"}, timeout=30, allow_redirects=False)
    resp.raise_for_status()
    return resp.json()


def untouched_posted(database: Database, org: str, doc_type: str, n: int) -> list[str]:
    """``n`` posted documents no other document depends on (Xero refuses to edit a paid credit note) — the
    customer's: a Xero supplier credit note (a vendor credit) shares the ``CreditNote`` type."""
    o = OutboxDocument
    with database.session() as s:
        paid = sa.select(o.depends_on).where(o.depends_on.is_not(None))
        return list(s.scalars(sa.select(o.remote_id).join(Organization, Organization.id == o.organization_id).where(
            Organization.code == org, o.doc_type == doc_type, o.status == OutboxStatus.POSTED,
            o.remote_id.is_not(None), o.idempotency_key.not_in(paid), o.role != "vendor_credit").order_by(o.id)
            .limit(n)))


def _tamper(info: dict[str, Any], database: Database, org: str, service: str, doc_type: str,
            typed: dict[str, str], period: Period) -> list[str]:
    ids = untouched_posted(database, org, doc_type, 6)
    if len(ids) < 6:
        return []
    edited, deleted, voided, duplicated, taxed, moved = ids
    changes: list[dict[str, Any]] = [
        {"op": "edit", "id": edited, "set": {"total": "1.00"}}, {"op": "delete", "id": deleted},
        {"op": "void", "id": voided}, {"op": "duplicate", "id": duplicated},
        {"op": "edit", "id": taxed, "set": {"tax": "3.00"}},
        {"op": "edit", "id": moved, "set": {"date": (period.end + timedelta(days=5)).isoformat()}}]
    done: list[str] = []
    for change in changes:
        path = f"ledger/{service}/{org}/tamper"
        try:
            _control(info, path, {**change, **typed})
        except requests.HTTPError:
            if change["op"] != "delete":
                raise
            _control(info, path, {**change, "op": "void", **typed})  # e.g. Xero deletes only drafts
            change = {**change, "op": "void"}
        done.append(str(change["op"]))
    return done


def _plant_failure(info: dict[str, Any], sync_org: Any) -> bool:
    org, service, path = FAILING
    _control(info, "faults", {"rules": [{
        "service": service, "action": "status", "status": 400, "method": "POST", "path_regex": path, "times": 1,
        "message": "Demo: the ledger refused this document (a required field was missing)"}]})
    _control(info, "rms/generate", {"org": org, "count": 1, "bad_ratio": 0, "seed": 11})
    sync_org(org)
    return True


def stage_findings(info: dict[str, Any], database: Database, bus: EventBus, clock: Clock, actor: Actor,
                   reconcile: Any, sync_org: Any, orgs: Sequence[str]) -> Staged:
    """Plant the demo's findings (module docstring), then reconcile ``orgs``; best effort, step by step.

    ``reconcile`` is the :class:`~desktop.services.reconcile.service.ReconcileService`; ``sync_org(org)``
    runs one organization's sync and returns when it is done.
    """
    staged = Staged()
    period = demo_period(clock)
    for org, (service, doc_type, typed) in TAMPERED.items():
        if org not in orgs:
            continue
        try:
            staged.tampered[org] = _tamper(info, database, org, service, doc_type, typed, period)
        except (requests.RequestException, ValueError) as exc:
            log.warning("demo: could not change %s's ledger: %s", org, exc)
    if staged.tampered:
        bus.emit("demo.staged", "info", "Demo: an accountant changed a few documents in the ledgers "
                 f"({', '.join(sorted(staged.tampered))}) — the reconciliation shows what that does")
    if FAILING[0] in orgs:
        try:
            staged.failure_planted = _plant_failure(info, sync_org)
        except (requests.RequestException, ValueError) as exc:
            log.warning("demo: could not plant the failed document: %s", exc)
    for org in orgs:
        try:
            staged.reconciled[org] = len(reconcile.run(org, period, actor=actor, trigger="demo").variances)
        except Exception as exc:  # one organization's trouble never stops the others' pictures
            log.warning("demo: reconciling %s failed: %s", org, exc)
    return staged
