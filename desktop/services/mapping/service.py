"""Versioned mapping sets per organization: read, resolve, save, diff, roll back (DESIGN.md §6).

Every save writes a *new* version (rules copied, earlier versions kept untouched) and moves the
organization's single ``is_active`` flag to it, in one write transaction together with its audit
entry — so the audit log and the active set never disagree. Changes need
``Action.MANAGE_MAPPINGS`` (admins); reading needs nothing, because the sync engine reads as the
system. Saved and rolled-back sets are announced on the event bus (``mapping.changed``).

Maker-checker (:mod:`desktop.services.admin.approvals`): with the organization's policy on, a save
or import writes its version *inactive* and asks for a second admin's approval; a roll-back asks
the same. :meth:`MappingService.activate_approved` makes it active, with the decision, in one
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from desktop.services.admin import approvals, audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.clock import Clock
from desktop.services.core.domain import Component, OrgSettings, Problem
from desktop.services.core.enums import ApprovalKind
from desktop.services.core.errors import ConfigurationError, NeedsPersonError
from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.services.mapping.diff import RuleDiff, diff_rules
from desktop.services.mapping.io import rules_from_document
from desktop.services.mapping.model import COMPONENT_LABELS, MatchContext, Rule, TrackingRef
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.mapping.validate import contexts_for_returns, validate
from desktop.services.rms.context import KNOWN_DISPOSITIONS, KNOWN_REASON_CODES, PROFILE_KEY, OrgContext
from desktop.services.rms.records import from_row
from desktop.services.store.connection_choice import org_connection
from desktop.services.store.db import Database
from desktop.services.store.models import (
    MappingRule,
    MappingSet,
    Organization,
    Return,
    ReturnSyncStatus,
)

__all__ = ["ImportResult", "MappingService", "MappingSetView", "OrgRef", "UnknownOrganization", "VersionInfo"]

OrgRef = int | str
"""An organization by id or by code (``"ACME-US"``)."""


class UnknownOrganization(NeedsPersonError):
    """The organization named does not exist."""


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_by: str
    created_at: datetime
    note: str | None
    is_active: bool
    rule_count: int


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the rules read, why it was refused (if so), what it changed or would."""

    rules: tuple[Rule, ...]
    problems: tuple[Problem, ...]
    changes: RuleDiff
    saved: MappingSetView | None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class MappingSetView:
    """One version of an organization's mapping set, detached from the database."""

    id: int
    organization_id: int
    organization_code: str
    version: int
    created_by: str
    created_at: datetime
    note: str | None
    is_active: bool
    rules: tuple[Rule, ...]


def _to_rule(row: MappingRule) -> Rule:
    tracking = tuple(TrackingRef(str(t.get("category", "")), str(t.get("option", "")), str(t.get("name") or ""))
                     for t in row.target_tracking or [] if isinstance(t, dict))
    return Rule(Component(row.component or Component.MERCHANDISE), reason_code=row.reason_code,
                disposition=row.disposition, channel=row.channel, warehouse=row.warehouse, currency=row.currency,
                tax_jurisdiction=row.tax_jurisdiction, priority=row.priority or 0, account_id=row.target_account,
                item_id=row.target_item, tax_code=row.target_tax_code, tracking=tracking, note=row.note,
                rule_id=row.id)


def _to_row(rule: Rule) -> MappingRule:
    tracking = [{"category": t.category_id, "option": t.option_id, "name": t.name} for t in rule.tracking]
    return MappingRule(component=rule.component.value, reason_code=rule.reason_code, disposition=rule.disposition,
                       channel=rule.channel, warehouse=rule.warehouse, currency=rule.currency,
                       tax_jurisdiction=rule.tax_jurisdiction, priority=rule.priority,
                       target_account=rule.account_id, target_item=rule.item_id, target_tax_code=rule.tax_code,
                       target_tracking=tracking or None, note=rule.note)


class MappingService:
    """The mapping sets of every organization in one database."""

    def __init__(self, db: Database, clock: Clock, bus: EventBus | None = None) -> None:
        self.db = db
        self.clock = clock
        self.bus = bus

    # --- reading ----------------------------------------------------------------------------

    @staticmethod
    def _org(session: Session, org: OrgRef, *, lock: bool = False) -> Organization:
        """The organization row; ``lock`` takes its row lock (PostgreSQL) so saves queue per organization."""
        where = Organization.id == org if isinstance(org, int) else Organization.code == org
        stmt = sa.select(Organization).where(where)
        found = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if found is None:
            raise UnknownOrganization(f"There is no organization {org!r}",
                                      action="check the code on the Connections page")
        return found

    @staticmethod
    def _view(session: Session, org: Organization, row: MappingSet) -> MappingSetView:
        rules = session.execute(sa.select(MappingRule).where(MappingRule.mapping_set_id == row.id)
                                .order_by(MappingRule.id)).scalars()
        return MappingSetView(row.id, org.id, org.code, row.version, row.created_by, row.created_at, row.note,
                              row.is_active, tuple(_to_rule(r) for r in rules))

    def active_set(self, org: OrgRef) -> MappingSetView | None:
        """The organization's active version, or ``None`` before its first save."""
        with self.db.session() as session:
            o = self._org(session, org)
            row = session.execute(sa.select(MappingSet).where(MappingSet.organization_id == o.id,
                                                              MappingSet.is_active)).scalar_one_or_none()
            return self._view(session, o, row) if row is not None else None

    def missing_rule(self, org: OrgRef, component: Component) -> str | None:
        """A sentence saying the active version has no rule at all for ``component`` (e.g. a setting
        needs one), or ``None`` when it has one. Whether a rule covers each return is validation's and
        pre-flight's question; this answers the coarser one a setting change needs."""
        active = self.active_set(org)
        if active is not None and any(rule.component is component for rule in active.rules):
            return None
        rule = f"“{COMPONENT_LABELS[component]}” rule"
        return f"{active.organization_code}'s active mapping has no {rule}" if active is not None else \
            f"{org} has no mapping yet, so no {rule}"

    def get_version(self, org: OrgRef, version: int) -> MappingSetView:
        with self.db.session() as session:
            o = self._org(session, org)
            return self._view(session, o, self._version_row(session, o, version))

    @staticmethod
    def _version_row(session: Session, org: Organization, version: int) -> MappingSet:
        row = session.execute(sa.select(MappingSet).where(MappingSet.organization_id == org.id,
                                                          MappingSet.version == version)).scalar_one_or_none()
        if row is None:
            raise NeedsPersonError(f"{org.code} has no mapping version {version}",
                                   action="pick a version from the mapping history")
        return row

    def history(self, org: OrgRef) -> list[VersionInfo]:
        """Every version, newest first."""
        with self.db.session() as session:
            o = self._org(session, org)
            counts = sa.select(sa.func.count(MappingRule.id)).where(
                MappingRule.mapping_set_id == MappingSet.id).scalar_subquery()
            rows = session.execute(sa.select(MappingSet, counts).where(MappingSet.organization_id == o.id)
                                   .order_by(MappingSet.version.desc())).all()
            return [VersionInfo(s.version, s.created_by, s.created_at, s.note, s.is_active, int(n)) for s, n in rows]

    def snapshot(self, org: OrgRef) -> ReferenceSnapshot | None:
        """The reference data of the organization's current connection, if it has one."""
        with self.db.session() as session:
            o = self._org(session, org)
            conn_id = org_connection(session, o.id)
            return ReferenceSnapshot.load(session, conn_id) if conn_id is not None else None

    def resolver(self, org: OrgRef, snapshot: ReferenceSnapshot | None = None) -> Resolver:
        """A resolver over the active version (empty, version 0, before the first save).

        Targets carry account codes from ``snapshot`` (loaded from the organization's connection
        when not given), which Xero line items use.
        """
        active = self.active_set(org)
        if snapshot is None and active is not None:
            snapshot = self.snapshot(org)
        codes = snapshot.account_codes() if snapshot is not None else None
        if active is None:
            return Resolver((), 0, account_codes=codes)
        return Resolver(active.rules, active.version, account_codes=codes)

    def contexts_in_use(self, org: OrgRef) -> list[MatchContext]:
        """What the organization's returns still to post (new, ready, quarantined) will resolve.

        Validation checks these, so "unmapped" means "a return we hold would not post".
        Placeholders of returns quarantined at ingest hold no record and are skipped.
        """
        with self.db.session() as session:
            o = self._org(session, org)
            rows = session.execute(
                sa.select(Return).where(Return.organization_id == o.id, Return.sync_status.in_(
                    (ReturnSyncStatus.NEW, ReturnSyncStatus.READY, ReturnSyncStatus.QUARANTINED)))
                .options(selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))
            ).scalars().all()
            records = []
            for row in rows:
                try:
                    records.append(from_row(row))
                except ValueError:
                    continue
            return contexts_for_returns(records, OrgSettings.from_json(o.settings))

    def diff(self, org: OrgRef, old_version: int, new_version: int) -> RuleDiff:
        with self.db.session() as session:
            o = self._org(session, org)
            old = self._view(session, o, self._version_row(session, o, old_version))
            new = self._view(session, o, self._version_row(session, o, new_version))
        return diff_rules(old.rules, new.rules)

    def preview(self, org: OrgRef, rules: Sequence[Rule]) -> RuleDiff:
        """What saving ``rules`` would change against the active version."""
        active = self.active_set(org)
        return diff_rules(active.rules if active else (), rules)

    def vocabulary(self, org: OrgRef) -> dict[str, frozenset[str]]:
        """The codes the organization's RMS uses, per match field (from its stored RMS profile)."""
        with self.db.session() as session:
            o = self._org(session, org)
            profile = (o.settings or {}).get(PROFILE_KEY)
        words: dict[str, frozenset[str]] = {"reason_code": KNOWN_REASON_CODES, "disposition": KNOWN_DISPOSITIONS}
        if isinstance(profile, dict):
            ctx = OrgContext.from_profile(profile)
            words.update(reason_code=ctx.reason_codes, disposition=ctx.dispositions,
                         tax_jurisdiction=frozenset(ctx.jurisdictions))
        return words

    def validate(self, org: OrgRef, rules: Sequence[Rule], snapshot: ReferenceSnapshot | None = None) -> list[Problem]:
        """Every problem with ``rules`` for this organization: its ledger's reference data, its RMS
        vocabulary and the returns it still has to post. Without reference data nothing can be
        checked, and that is the one problem reported."""
        snapshot = snapshot if snapshot is not None else self.snapshot(org)
        if snapshot is None or not snapshot.accounts:
            return [Problem("no_reference_data", f"{org} has no cached chart of accounts to check the mapping "
                            "against; connect its ledger and refresh its reference data (Connections page or "
                            "`returns-ledger connect`), then try again")]
        return validate(rules, snapshot, self.contexts_in_use(org), self.vocabulary(org))

    def import_document(self, org: OrgRef, document: Mapping[str, Any], actor: Actor, note: str | None = None,
                        *, dry_run: bool = False, allow_empty: bool = False) -> ImportResult:
        """Import a mapping file or template: resolve its references, validate, then save — or refuse.

        A refusal saves nothing and publishes ``mapping.invalid`` with the problems; a dry run
        validates and previews the changes only. A file without rules is refused unless
        ``allow_empty`` says so: made active, it would silently remove every rule of the mapping.
        """
        if not dry_run:
            actor.require(Action.MANAGE_MAPPINGS)
        snapshot = self.snapshot(org)
        rules, problems = rules_from_document(document, snapshot)
        problems = [*problems, *self.validate(org, rules, snapshot)]
        if not rules and not allow_empty:
            current = self.active_set(org)
            problems.append(Problem(
                "empty_mapping", f"The file has no rules: importing it would remove all "
                f"{len(current.rules) if current is not None else 0} rule(s) of {org}'s mapping, and every return "
                "would wait in pre-flight", "rules"))
        changes = self.preview(org, rules)
        if problems:
            if self.bus is not None:
                self.bus.publish(Event(kind=EventKind.MAPPING_INVALID, severity=Severity.WARNING,
                                       message=f"{org}: mapping import refused ({len(problems)} problem(s)): "
                                               f"{problems[0].message}", occurred_at=self.clock.now(),
                                       org=str(org), details={"problems": [p.code for p in problems]}))
            return ImportResult(tuple(rules), tuple(problems), changes, None)
        if dry_run:
            return ImportResult(tuple(rules), (), changes, None)
        view = self.save(org, rules, actor, note, action="mapping.imported", allow_empty=allow_empty)
        return ImportResult(tuple(rules), (), changes, view)

    # --- changing ---------------------------------------------------------------------------

    def save(self, org: OrgRef, rules: Iterable[Rule], actor: Actor, note: str | None = None, *,
             action: str = "mapping.saved", allow_empty: bool = False) -> MappingSetView:
        """Write ``rules`` as the organization's next version and make it active.

        Validation is the caller's business (the editor and the importer validate against a
        reference snapshot first); this stores what it is given. Raises
        :class:`~desktop.services.core.errors.PermissionDenied` unless ``actor`` may manage mappings.
        """
        actor.require(Action.MANAGE_MAPPINGS)
        rules = [r.with_id(None) for r in rules]
        if not rules and not allow_empty:
            raise ConfigurationError(f"A mapping without rules would stop every return of {org} in pre-flight",
                                     action="keep at least one rule, or confirm that the mapping should be empty")
        now = self.clock.now()
        with self.db.write_session() as session:
            o = self._org(session, org, lock=True)
            gated = approvals.policy(session, o.id).needs(ApprovalKind.MAPPING)
            current = session.execute(sa.select(MappingSet).where(MappingSet.organization_id == o.id,
                                                                  MappingSet.is_active)).scalar_one_or_none()
            before = self._view(session, o, current).rules if current is not None else ()
            last = session.execute(sa.select(sa.func.max(MappingSet.version))
                                   .where(MappingSet.organization_id == o.id)).scalar() or 0
            if current is not None and not gated:
                current.is_active = False
                session.flush()  # the one-active index must see the old flag cleared first
            new = MappingSet(organization_id=o.id, version=last + 1, created_by=actor.username, created_at=now,
                             note=note, is_active=not gated)
            new.rules = [_to_row(r) for r in rules]
            session.add(new)
            session.flush()
            changes = diff_rules(before, rules)
            audit.append(session, self.clock, actor=actor.username, action=action,
                         target=f"mapping_set:{o.code}:v{new.version}", organization_id=o.id,
                         details={"version": new.version, "previous_version": current.version if current else None,
                                  "note": note, "rules": len(rules), "summary": changes.summary(),
                                  "changes": changes.as_json(), **({"awaiting_approval": True} if gated else {})})
            if gated:
                self._request(session, actor, o, new.version, f"saved ({changes.summary()})", note)
            view = self._view(session, o, new)
        if gated:
            self._publish(approvals.EVENT_REQUESTED, f"{view.organization_code}: mapping version {view.version} "
                          "waits for a second admin's approval", view, {"version": view.version, "by": actor.username})
            return view
        self._publish(EventKind.MAPPING_IMPORTED if action == "mapping.imported" else EventKind.MAPPING_CHANGED,
                      f"{view.organization_code}: mapping version {view.version} is active ({changes.summary()})",
                      view, {"version": view.version, "by": actor.username, "summary": changes.summary()})
        return view

    def activate(self, org: OrgRef, version: int, actor: Actor, note: str | None = None) -> MappingSetView:
        """Roll back (or forward) to an existing version: it becomes active again, unchanged.

        Maker-checker on: the version waits for a second admin (:meth:`activate_approved`); the view
        returned is then still inactive."""
        actor.require(Action.MANAGE_MAPPINGS)
        with self.db.write_session() as session:
            o = self._org(session, org, lock=True)
            target = self._version_row(session, o, version)
            if not target.is_active and approvals.policy(session, o.id).needs(ApprovalKind.MAPPING):
                self._request(session, actor, o, version, "to be made active again", note)
                view = self._view(session, o, target)
                waiting = True
            else:
                view, waiting = self._activate(session, o, target, actor, note), False
        if waiting:
            self._publish(approvals.EVENT_REQUESTED, f"{view.organization_code}: making mapping version {version} "
                          "active waits for a second admin's approval", view, {"version": version,
                                                                              "by": actor.username})
        else:
            self._publish(EventKind.MAPPING_CHANGED, f"{view.organization_code}: mapping version {version} is "
                          "active again", view, {"version": version, "by": actor.username})
        return view

    def activate_approved(self, actor: Actor, request_id: int, note: str = "") -> MappingSetView:
        """Maker-checker: make the version of request ``request_id`` active, approved by ``actor`` (another
        admin) in the same transaction."""
        with self.db.write_session() as session:
            row = approvals.decide(session, self.clock, actor, request_id, note, approve=True,
                                   kind=ApprovalKind.MAPPING)
            o = self._org(session, row.organization_id, lock=True)
            target = self._version_row(session, o, int(row.payload["version"]))
            view = self._activate(session, o, target, actor, row.payload.get("note"), approval=request_id,
                                  maker=row.requested_by)
        self._publish(EventKind.MAPPING_CHANGED, f"{view.organization_code}: mapping version {view.version} is "
                      f"active (approved by {actor.username})", view, {"version": view.version, "by": actor.username})
        return view

    def _request(self, session: Session, actor: Actor, o: Organization, version: int, what: str,
                 note: str | None) -> None:
        approvals.request(session, self.clock, actor, o.id, ApprovalKind.MAPPING, f"mapping_set:{o.code}:v{version}",
                          f"{o.code} mapping version {version} {what}", {"version": version, "note": note})

    def _activate(self, session: Session, o: Organization, target: MappingSet, actor: Actor, note: str | None, *,
                  approval: int | None = None, maker: str | None = None) -> MappingSetView:
        current = session.execute(sa.select(MappingSet).where(MappingSet.organization_id == o.id,
                                                              MappingSet.is_active)).scalar_one_or_none()
        if current is not None and current.id != target.id:
            current.is_active = False
            session.flush()
        target.is_active = True
        audit.append(session, self.clock, actor=actor.username, action="mapping.activated",
                     target=f"mapping_set:{o.code}:v{target.version}", organization_id=o.id,
                     details={"version": target.version, "previous_version": current.version if current else None,
                              "note": note, **({"approval": approval, "requested_by": maker} if approval else {})})
        return self._view(session, o, target)

    def _publish(self, kind: str, message: str, view: MappingSetView, details: dict[str, Any]) -> None:
        if self.bus is not None:
            self.bus.publish(Event(kind=kind, severity=Severity.INFO, message=message, occurred_at=self.clock.now(),
                                   org=view.organization_code, details=details))
