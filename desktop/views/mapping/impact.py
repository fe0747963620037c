"""What the Mappings page loads for one organization, and which recent returns an edit re-routes.

Qt-free and run only through ``run_in_background``: both read the database. Everything here
goes through :class:`~desktop.services.mapping.service.MappingService` except the list of recent
returns, which the service does not offer yet (see the report: ``MappingService.impact`` would
be its home); it reads them the way ``MappingService.contexts_in_use`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.services.domain import Component, OrgSettings
from desktop.services.mapping.model import MappingTarget, MatchContext, Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.mapping.service import MappingService, MappingSetView, VersionInfo
from desktop.services.mapping.validate import contexts_for_return
from desktop.services.rms.context import KNOWN_FEE_TYPES
from desktop.services.rms.records import from_row
from desktop.services.store.models import Organization, Return, ReturnSyncStatus
from desktop.views.mapping.editing import CHANNELS, CodeRef, target_label

__all__ = ["OrgBundle", "ReturnImpact", "load_bundle", "organization_codes", "recent_impact"]


@dataclass(frozen=True)
class OrgBundle:
    """Everything the editor shows for one organization, read in one background call."""

    org: str
    snapshot: ReferenceSnapshot | None
    active: MappingSetView | None
    history: list[VersionInfo]
    vocabulary: dict[str, frozenset[str]]
    in_use: list[MatchContext]
    codes: list[CodeRef] = field(default_factory=list)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.active.rules if self.active is not None else ()

    @property
    def version(self) -> int:
        return self.active.version if self.active is not None else 0

    @property
    def jurisdictions(self) -> list[str]:
        return sorted(c.value for c in self.codes if c.kind == "tax_jurisdiction")


def _codes(vocabulary: dict[str, frozenset[str]], in_use: Sequence[MatchContext],
           rules: Sequence[Rule]) -> list[CodeRef]:
    """Every code the editor lists: the RMS vocabulary plus any code in use or named by a rule."""
    seen: dict[str, set[str]] = {"component": {c.value for c in Component}, "fee_type": set(KNOWN_FEE_TYPES),
                                 "channel": set(CHANNELS)}
    for kind in ("reason_code", "disposition", "tax_jurisdiction"):
        seen[kind] = set(vocabulary.get(kind, ()))
    for holder in (*in_use, *rules):
        for kind in ("reason_code", "disposition", "channel", "tax_jurisdiction"):
            value = getattr(holder, kind)
            if value:
                seen[kind].update(value.split("+") if kind == "tax_jurisdiction" else [value])
    order = {c.value: i for i, c in enumerate(Component)}
    out: list[CodeRef] = []
    for kind in ("component", "reason_code", "disposition", "fee_type", "tax_jurisdiction", "channel"):
        values = sorted(seen[kind], key=lambda v: (order.get(v, 99), v)) if kind in ("component", "fee_type") \
            else sorted(seen[kind])
        out += [CodeRef(kind, v) for v in values]
    return out


def load_bundle(service: MappingService, org: str) -> OrgBundle:
    """Read one organization's mapping state: reference data, active set, history, codes in use."""
    snapshot = service.snapshot(org)
    active = service.active_set(org)
    vocabulary = service.vocabulary(org)
    in_use = service.contexts_in_use(org)
    rules = active.rules if active is not None else ()
    return OrgBundle(org, snapshot, active, service.history(org), vocabulary, in_use,
                     _codes(vocabulary, in_use, rules))


@dataclass(frozen=True)
class ReturnImpact:
    """One recent return whose documents would come out differently, and how."""

    rma: str
    rms_id: str
    revision: int
    status: str
    updated_at: datetime
    currency: str
    changes: tuple[str, ...]


def _same(a: MappingTarget | None, b: MappingTarget | None) -> bool:
    def key(t: MappingTarget | None) -> tuple[object, ...] | None:
        return None if t is None else (t.account_id, t.item_id, t.tax_code, t.tracking)
    return key(a) == key(b)


def _show(target: MappingTarget | None, snapshot: ReferenceSnapshot | None, component: Component) -> str:
    if target is None:
        return "no rule"
    if component is Component.TAX and target.tax_code:
        text = target_label(snapshot, "tax_code", target.tax_code)
    else:
        text = target_label(snapshot, "account", target.account_id) or target_label(snapshot, "item", target.item_id)
    if target.tracking:
        text += " [" + ", ".join(t.name or t.option_id for t in target.tracking) + "]"
    return text or "nothing"


def recent_impact(service: MappingService, org: str, old_rules: Sequence[Rule], new_rules: Sequence[Rule],
                  snapshot: ReferenceSnapshot | None, *, limit: int = 500) -> tuple[int, list[ReturnImpact]]:
    """How many recent returns were checked, and those whose ledger documents would change.

    A return's documents change when any context it resolves (line, fee, tax, refund, clearing)
    lands on a different account, item, tax code or tracking under ``new_rules`` than under
    ``old_rules``. Superseded revisions are skipped; returns already posted are listed too (their
    ledger documents stay as posted, but a re-post or reconciliation would differ).
    """
    codes = snapshot.account_codes() if snapshot is not None else None
    old, new = Resolver(old_rules, account_codes=codes), Resolver(new_rules, account_codes=codes)
    with service.db.session() as session:
        o = MappingService._org(session, org)
        settings = OrgSettings.from_json(o.settings)
        rows = session.execute(
            sa.select(Return).where(Return.organization_id == o.id,
                                    Return.sync_status != ReturnSyncStatus.SUPERSEDED)
            .order_by(Return.rms_updated_at.desc(), Return.id.desc()).limit(limit)
            .options(selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))
        ).scalars().all()
        checked = 0
        out: list[ReturnImpact] = []
        for row in rows:
            try:
                record = from_row(row)
            except ValueError:  # a placeholder of a return quarantined at ingest: nothing to resolve
                continue
            checked += 1
            changes: list[str] = []
            for ctx in dict.fromkeys(contexts_for_return(record, settings)):
                before, after = old.resolve(ctx), new.resolve(ctx)
                if not _same(before, after):
                    changes.append(f"{ctx.describe()}: {_show(before, snapshot, ctx.component)} → "
                                   f"{_show(after, snapshot, ctx.component)}")
            if changes:
                out.append(ReturnImpact(row.rma_number, row.rms_id, row.revision, row.sync_status.value,
                                        row.rms_updated_at, row.currency, tuple(changes)))
    return checked, out


def organization_codes(service: MappingService) -> list[tuple[str, str]]:
    """(code, name) of every organization, for the picker when no connection service is wired."""
    with service.db.session() as session:
        return [(c, n) for c, n in session.execute(sa.select(Organization.code, Organization.name)
                                                   .order_by(Organization.code)).all()]

