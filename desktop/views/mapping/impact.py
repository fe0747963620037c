"""What the Mappings page loads for one organization, and which recent returns an edit re-routes.

Qt-free and run only through ``run_in_background``: both read the database, through the services
(:class:`~desktop.services.mapping.service.MappingService` for the bundle,
:class:`~desktop.services.mapping.impact.MappingImpact` for the recent returns); this module only
gathers and words what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from desktop.services.core.domain import Component
from desktop.services.mapping.impact import MappingImpact, ReturnRevision
from desktop.services.mapping.model import MappingTarget, MatchContext, Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.service import MappingService, MappingSetView, VersionInfo
from desktop.services.rms.context import KNOWN_FEE_TYPES
from desktop.views.mapping.editing import CHANNELS, CodeRef, rule_target_kind, target_label

__all__ = ["OrgBundle", "ReturnImpact", "load_bundle", "recent_impact"]


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
class ReturnImpact(ReturnRevision):
    """One recent return whose documents would come out differently, and how (in words)."""

    changes: tuple[str, ...]


def _show(target: MappingTarget | None, snapshot: ReferenceSnapshot | None, component: Component) -> str:
    if target is None:
        return "no rule"
    if component is Component.TAX and target.tax_code:
        text = target_label(snapshot, "tax_code", target.tax_code)
    else:
        text = target_label(snapshot, rule_target_kind(component), target.account_id) \
            or target_label(snapshot, "item", target.item_id)
    if target.tracking:
        text += " [" + ", ".join(t.name or t.option_id for t in target.tracking) + "]"
    return text or "nothing"


def recent_impact(impact: MappingImpact, org: str, old_rules: Sequence[Rule], new_rules: Sequence[Rule],
                  snapshot: ReferenceSnapshot | None, *, limit: int = 500) -> tuple[int, list[ReturnImpact]]:
    """How many recent returns were checked, and those whose ledger documents would change.

    The service (:meth:`MappingImpact.recent`) finds them; this words each change with the names
    the editor shows (``context: old target → new target``).
    """
    codes = snapshot.account_codes() if snapshot is not None else None
    checked, found = impact.recent(org, old_rules, new_rules, codes, limit=limit)
    return checked, [
        ReturnImpact(r.rma, r.rms_id, r.revision, r.status, r.updated_at, r.currency, tuple(
            f"{c.context.describe()}: {_show(c.before, snapshot, c.context.component)} → "
            f"{_show(c.after, snapshot, c.context.component)}" for c in r.changes))
        for r in found]
