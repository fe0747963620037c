"""Maker-checker: the organization's approval policy, and requests that wait for a second person.

The policy is two per-organization rows of the ``settings`` table (as ``schedule.*`` are):
``approval.threshold`` — an amount in the organization's home currency, as a decimal string
(absent: maker-checker is off) — and ``approval.kinds``, which kinds need approval (default: all
of :class:`ApprovalKind`). With the policy on, a mapping change and an undo of a sync run always wait; a money request
(manual entry, adjusting entry, void) waits when its amount in the home currency is at or above
the threshold, or when no rate converts it (unknown is never waved through).

A request records who asked for what; the owner of the action (manual entry, adjustment, void,
mapping) does it only on approval, *in the transaction that records the decision*
(:func:`decide`), so the action and its approval are one fact. Self-approval is refused, and the
checker needs the permission the action itself needs (:data:`CHECKER_NEEDS`): operators or admins
for money, admins for mappings. Every request, approval, rejection and policy change is audited.

This module sits in ``admin`` so that every owner of a gated action (mapping is the lowest) can use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.admin import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.enums import ApprovalKind, ApprovalStatus
from desktop.services.core.errors import NeedsPersonError, PermissionDenied
from desktop.services.core.money import Money
from desktop.services.store.models import ApprovalRequest, Organization, Setting

__all__ = ["CHECKER_NEEDS", "EVENT_DECIDED", "EVENT_REQUESTED", "KINDS_KEY", "MONEY_KINDS", "THRESHOLD_KEY",
           "ApprovalKind", "ApprovalStatus", "ApprovalView", "Policy", "decide", "policy", "precheck", "request",
           "set_policy"]

#: Event kinds (the dashboard's queue refreshes on them).
EVENT_REQUESTED = "approval.requested"
EVENT_DECIDED = "approval.decided"
THRESHOLD_KEY = "approval.threshold"
KINDS_KEY = "approval.kinds"
MONEY_KINDS = frozenset({ApprovalKind.MANUAL_ENTRY, ApprovalKind.ADJUSTMENT, ApprovalKind.VOID})
#: The permission the checker must hold: the one the action itself needs.
CHECKER_NEEDS: dict[ApprovalKind, Action] = {
    ApprovalKind.MANUAL_ENTRY: Action.MANUAL_ENTRY,
    ApprovalKind.ADJUSTMENT: Action.REVIEW_VARIANCES,
    ApprovalKind.VOID: Action.POST_DOCUMENTS,
    ApprovalKind.MAPPING: Action.MANAGE_MAPPINGS,
    ApprovalKind.UNDO_RUN: Action.POST_DOCUMENTS,
}


@dataclass(frozen=True)
class Policy:
    """One organization's maker-checker setting (``threshold`` None: off)."""

    org: str
    home_currency: str
    threshold: Decimal | None
    kinds: frozenset[ApprovalKind]

    @property
    def on(self) -> bool:
        return self.threshold is not None

    def needs(self, kind: ApprovalKind, home_amount: Money | None = None) -> bool:
        """Whether ``kind`` (of ``home_amount``, in the home currency; None: unconvertible) must wait."""
        if self.threshold is None or kind not in self.kinds:
            return False
        if kind not in MONEY_KINDS or home_amount is None:
            return True
        if home_amount.currency != self.home_currency:
            return True  # not comparable: a person decides
        return abs(home_amount.amount) >= self.threshold

    def to_json(self) -> dict[str, Any]:
        return {"organization": self.org, "home_currency": self.home_currency,
                "threshold": None if self.threshold is None else format(self.threshold, "f"),
                "kinds": sorted(k.value for k in self.kinds)}


@dataclass(frozen=True)
class ApprovalView:
    """A request as screens and the CLI show it (detached from the database)."""

    id: int
    org: str
    kind: ApprovalKind
    target: str
    summary: str
    amount: Money | None
    home_amount: Money | None
    status: ApprovalStatus
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None

    @classmethod
    def of(cls, row: ApprovalRequest, org: str) -> ApprovalView:
        return cls(row.id, org, ApprovalKind(row.kind), row.target, row.summary, row.amount, row.home_amount,
                   ApprovalStatus(row.status), row.requested_by, row.requested_at, row.decided_by, row.decided_at,
                   row.note)

    def to_json(self) -> dict[str, Any]:
        def money(m: Money | None) -> str | None:
            return None if m is None else format(m.amount, "f")
        return {"id": self.id, "organization": self.org, "kind": self.kind.value, "target": self.target,
                "summary": self.summary, "amount": money(self.amount),
                "currency": self.amount.currency if self.amount else None, "home_amount": money(self.home_amount),
                "home_currency": self.home_amount.currency if self.home_amount else None,
                "status": self.status.value, "requested_by": self.requested_by,
                "requested_at": self.requested_at.isoformat(), "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None, "note": self.note}


def _org(session: Session, org: int | str) -> Organization:
    where = Organization.id == org if isinstance(org, int) else Organization.code == org
    found = session.scalar(sa.select(Organization).where(where))
    if found is None:
        raise NeedsPersonError(f"There is no organization {org!r}", action="check the code on the Connections page")
    return found


def policy(session: Session, org: int | str) -> Policy:
    """The organization's policy as stored (an unreadable threshold counts as off: it never was valid)."""
    o = _org(session, org)
    rows: dict[str, Any] = {key: value for key, value in session.execute(sa.select(Setting.key, Setting.value).where(
        Setting.organization_id == o.id, Setting.key.in_((THRESHOLD_KEY, KINDS_KEY))))}
    threshold: Decimal | None = None
    raw = rows.get(THRESHOLD_KEY)
    if raw is not None:
        try:
            threshold = Decimal(str(raw))
        except InvalidOperation:
            threshold = None
    raw_kinds = rows.get(KINDS_KEY)
    kinds = frozenset(ApprovalKind(k) for k in raw_kinds if k in set(ApprovalKind)) \
        if isinstance(raw_kinds, list) else frozenset(ApprovalKind)
    return Policy(o.code, o.home_currency, threshold, kinds)


def set_policy(session: Session, clock: Clock, actor: Actor, org: str, threshold: Decimal | None,
               kinds: Iterable[ApprovalKind] | None = None) -> Policy:
    """Turn maker-checker on (a threshold ≥ 0, in the home currency) or off (None); admins only, audited."""
    actor.require(Action.MANAGE_SETTINGS)
    if threshold is not None and (not threshold.is_finite() or threshold < 0):
        raise NeedsPersonError(f"The approval threshold must be an amount of 0 or more, not {threshold}")
    o = _org(session, org)
    before = policy(session, o.id)
    now = clock.now()
    wanted: dict[str, Any] = {THRESHOLD_KEY: None if threshold is None else format(threshold, "f")}
    if kinds is not None:
        wanted[KINDS_KEY] = sorted(ApprovalKind(k).value for k in kinds)
    for key, value in wanted.items():
        row = session.scalar(sa.select(Setting).where(Setting.organization_id == o.id, Setting.key == key))
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(Setting(organization_id=o.id, key=key, value=value, updated_at=now, updated_by=actor.username))
        else:
            row.value, row.updated_at, row.updated_by = value, now, actor.username
    session.flush()
    after = policy(session, o.id)
    audit.append(session, clock, actor=actor.username, action="approval.policy_set", target=o.code,
                 organization_id=o.id, details={"before": before.to_json(), "after": after.to_json()})
    return after


def request(session: Session, clock: Clock, actor: Actor, org: int | str, kind: ApprovalKind, target: str,
            summary: str, payload: dict[str, Any], *, amount: Money | None = None,
            home_amount: Money | None = None) -> ApprovalRequest:
    """Record a request (audited) in the caller's transaction; one pending request per kind and target."""
    o = _org(session, org)
    waiting = session.scalar(sa.select(ApprovalRequest.id).where(
        ApprovalRequest.kind == kind, ApprovalRequest.target == target,
        ApprovalRequest.status == ApprovalStatus.PENDING))
    if waiting is not None:
        raise NeedsPersonError(f"{target} already waits for approval (request {waiting})",
                               action="ask a second person to approve or reject it (Dashboard → Approvals, "
                                      f"or `returns-ledger approvals approve {waiting} --note …`)")
    row = ApprovalRequest(organization_id=o.id, kind=kind, target=target, summary=summary, payload=payload,
                          status=ApprovalStatus.PENDING, requested_by=actor.username, requested_at=clock.now())
    row.amount, row.home_amount = amount, home_amount
    session.add(row)
    session.flush()
    audit.append(session, clock, actor=actor.username, action="approval.requested", target=f"approval:{row.id}",
                 organization_id=o.id, details={"kind": kind.value, "what": target, "summary": summary,
                                                **_amounts(row)})
    return row


def _amounts(row: ApprovalRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if row.amount is not None:
        out.update(amount=format(row.amount.amount, "f"), currency=row.amount.currency)
    if row.home_amount is not None:
        out.update(home_amount=format(row.home_amount.amount, "f"), home_currency=row.home_amount.currency)
    return out


def precheck(row: ApprovalRequest | None, actor: Actor, request_id: int, kind: ApprovalKind | None = None
             ) -> ApprovalRequest:
    """Refuse unless ``actor`` may decide the pending request ``row`` (no writes)."""
    if row is None or (kind is not None and row.kind != kind):
        raise NeedsPersonError(f"There is no {'' if kind is None else kind.value.replace('_', ' ') + ' '}"
                               f"approval request {request_id}", action="see `returns-ledger approvals list`")
    if row.status is not ApprovalStatus.PENDING:
        raise NeedsPersonError(f"Request {request_id} was already {row.status.value} by {row.decided_by}")
    actor.require(CHECKER_NEEDS[ApprovalKind(row.kind)])
    if row.requested_by == actor.username:
        raise PermissionDenied(
            f"{actor.username} asked for request {request_id} and may not decide it: maker-checker needs a "
            "second person", action="ask another person with the right role to approve or reject it",
            who=actor.username, role=actor.role.value, permission="approve_own_request",
            needed=f"another {CHECKER_NEEDS[ApprovalKind(row.kind)].value.replace('_', ' ')} user")
    return row


def decide(session: Session, clock: Clock, actor: Actor, request_id: int, note: str, *, approve: bool,
           kind: ApprovalKind | None = None) -> ApprovalRequest:
    """Approve or reject a pending request in the caller's transaction (row-locked, audited).

    Call it in the transaction that does the approved action, so both happen or neither does.
    A rejection needs a note (why), an approval may have one.
    """
    note = (note or "").strip()
    if not approve and not note:
        raise NeedsPersonError("Say why the request is rejected", action="add a note")
    row = session.scalar(sa.select(ApprovalRequest).where(ApprovalRequest.id == request_id).with_for_update())
    row = precheck(row, actor, request_id, kind)
    row.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    row.decided_by, row.decided_at, row.note = actor.username, clock.now(), note or None
    audit.append(session, clock, actor=actor.username, action=f"approval.{row.status.value}",
                 target=f"approval:{row.id}", organization_id=row.organization_id,
                 details={"kind": row.kind.value, "what": row.target, "requested_by": row.requested_by,
                          "note": note, **_amounts(row)})
    return row
