"""Maker-checker's queue: list, approve and reject requests; set an organization's policy.

The rule and the requests live in :mod:`desktop.services.admin.approvals` (low in the layers, so
every owner of a gated action can use it). This service sits in ``manual`` — the highest service
package that owns a gated action — because approving does the action through its owner, in the
transaction that records the decision:

============  ===========================================  ==========================
kind          done on approval by                          the checker needs
============  ===========================================  ==========================
manual_entry  ``ManualEntryService.record_approved``       manual entry (operator, admin)
adjustment    ``AdjustService.enqueue_approved``           review variances (operator, admin)
void          ``ManualEntryService.void_approved``         post documents (operator, admin)
mapping       ``MappingService.activate_approved``         manage mappings (admin)
undo_run      ``UndoService.undo_approved``                post documents (operator, admin)
============  ===========================================  ==========================

The checker is never the maker (refused as a permission, exit 3). A rejection needs a note and
changes nothing else. Listing needs only ``view``; the policy is an admin's setting.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from desktop.services.admin import approvals
from desktop.services.admin.approvals import ApprovalKind, ApprovalStatus, ApprovalView, Policy
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.events import EventBus, Severity
from desktop.services.manual.service import ManualEntryService
from desktop.services.mapping.service import MappingService
from desktop.services.pipeline.undo import UndoService
from desktop.services.reconcile.adjust import AdjustService
from desktop.services.store.db import Database
from desktop.services.store.models import ApprovalRequest, Organization

__all__ = ["ApprovalService", "ApprovalView", "Policy"]


class ApprovalService:
    """The approvals queue (see the module docstring).

    Args:
        db, clock, bus: the app's database, clock and event bus (None: no events).
        manual: the manual-entry service (manual entries, voids); mapping: the mapping service;
        adjust: the adjusting-entry service (None: adjustments cannot be approved here).
        undo: the undo-a-run service (None: undos cannot be approved here).
    """

    def __init__(self, db: Database, clock: Clock, bus: EventBus | None, manual: ManualEntryService,
                 mapping: MappingService, adjust: AdjustService | None = None, undo: UndoService | None = None) -> None:
        self._db, self._clock, self._bus = db, clock, bus
        self._manual, self._mapping, self._adjust, self._undo = manual, mapping, adjust, undo

    # --- reading ---------------------------------------------------------------------------------
    def requests(self, actor: Actor, *, status: ApprovalStatus | None = ApprovalStatus.PENDING,
                 org: str | None = None, limit: int = 200) -> list[ApprovalView]:
        """Requests, oldest pending first (newest first when all statuses are asked for)."""
        actor.require(Action.VIEW)
        with self._db.session() as s:
            stmt = sa.select(ApprovalRequest, Organization.code).join(
                Organization, Organization.id == ApprovalRequest.organization_id)
            if status is not None:
                stmt = stmt.where(ApprovalRequest.status == status)
            if org:
                stmt = stmt.where(Organization.code == org)
            order = ApprovalRequest.id.asc() if status is ApprovalStatus.PENDING else ApprovalRequest.id.desc()
            return [ApprovalView.of(row, code) for row, code in s.execute(stmt.order_by(order).limit(limit))]

    def get(self, actor: Actor, request_id: int) -> ApprovalView:
        actor.require(Action.VIEW)
        with self._db.session() as s:
            found = s.execute(sa.select(ApprovalRequest, Organization.code).join(
                Organization, Organization.id == ApprovalRequest.organization_id)
                .where(ApprovalRequest.id == request_id)).one_or_none()
            if found is None:
                raise NeedsPersonError(f"There is no approval request {request_id}",
                                       action="see `returns-ledger approvals list`")
            return ApprovalView.of(found[0], found[1])

    def policy(self, org: str) -> Policy:
        with self._db.session() as s:
            return approvals.policy(s, org)

    # --- deciding --------------------------------------------------------------------------------
    def approve(self, actor: Actor, request_id: int, note: str = "") -> ApprovalView:
        """Approve and do it: the owner of the action acts in the transaction that records the approval."""
        kind = self.get(actor, request_id).kind
        if kind is ApprovalKind.MANUAL_ENTRY:
            self._manual.record_approved(actor, request_id, note)
        elif kind is ApprovalKind.VOID:
            self._manual.void_approved(actor, request_id, note)
        elif kind is ApprovalKind.MAPPING:
            self._mapping.activate_approved(actor, request_id, note)
        elif kind is ApprovalKind.UNDO_RUN:
            if self._undo is None:
                raise NeedsPersonError("Undoing a sync run cannot be approved here",
                                       action="use `returns-ledger approvals approve`")
            self._undo.undo_approved(actor, request_id, note)
        else:
            if self._adjust is None:
                raise NeedsPersonError("Adjusting entries cannot be approved here")
            self._adjust.enqueue_approved(actor, request_id, note)
        return self._decided(actor, request_id)

    def reject(self, actor: Actor, request_id: int, note: str) -> ApprovalView:
        """Reject with a note (why): nothing of the request reaches the outbox, the ledger or the mapping."""
        with self._db.write_session() as s:
            approvals.decide(s, self._clock, actor, request_id, note, approve=False)
        return self._decided(actor, request_id)

    def _decided(self, actor: Actor, request_id: int) -> ApprovalView:
        view = self.get(actor, request_id)
        if self._bus is not None:
            self._bus.emit(approvals.EVENT_DECIDED, Severity.INFO,
                           f"{view.org}: request {view.id} ({view.summary}) {view.status.value} by {actor.username}",
                           org=view.org, details={"approval": view.id, "status": view.status.value})
        return view

    # --- the policy ------------------------------------------------------------------------------
    def set_threshold(self, actor: Actor, org: str, amount: Decimal | None,
                      kinds: Iterable[ApprovalKind] | None = None) -> Policy:
        """Maker-checker on at ``amount`` (home currency) for ``kinds`` (default: all), or off (None)."""
        actor.require(Action.MANAGE_SETTINGS)
        with self._db.write_session() as s:
            out = approvals.set_policy(s, self._clock, actor, org, amount, kinds)
        if self._bus is not None:
            state: dict[str, Any] = out.to_json()
            self._bus.emit("approval.policy_changed", Severity.INFO, f"{org}: maker-checker " + (
                f"on from {out.threshold} {out.home_currency}" if out.on else "off") + f" (by {actor.username})",
                org=org, details=state)
        return out
