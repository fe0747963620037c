"""What changes between two versions of a mapping set — "Saving shows what changes".

Rules are paired across versions by their conditions (component + match fields): rows are copied
into every new version, so ids differ and cannot pair them. Same conditions, different targets,
priority or note = *changed*; conditions only in the new set = *added*; only in the old = *removed*.
If several rules share the same conditions they are paired in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from desktop.services.mapping.model import MATCH_FIELDS, Rule

__all__ = ["RuleChange", "RuleDiff", "diff_rules"]

_TARGET_FIELDS = ("priority", "account_id", "item_id", "tax_code", "tracking", "note")


@dataclass(frozen=True)
class RuleChange:
    old: Rule
    new: Rule

    @property
    def fields(self) -> tuple[str, ...]:
        """Which of priority / account / item / tax code / tracking / note differ."""
        return tuple(f for f in _TARGET_FIELDS if getattr(self.old, f) != getattr(self.new, f))


@dataclass(frozen=True)
class RuleDiff:
    added: tuple[Rule, ...] = ()
    removed: tuple[Rule, ...] = ()
    changed: tuple[RuleChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        """``"2 added, 1 removed, 3 changed"`` (or ``"no changes"``)."""
        if self.empty:
            return "no changes"
        return ", ".join(f"{n} {word}" for n, word in ((len(self.added), "added"), (len(self.removed), "removed"),
                                                       (len(self.changed), "changed")) if n)

    def as_json(self) -> dict[str, Any]:
        """JSON-safe, for the audit log and ``--json`` output."""
        def conditions(r: Rule) -> dict[str, Any]:
            return {"component": r.component.value, **{f: getattr(r, f) for f in MATCH_FIELDS if getattr(r, f)}}

        def brief(r: Rule) -> dict[str, Any]:
            return {**conditions(r), "priority": r.priority, "account_id": r.account_id, "item_id": r.item_id,
                    "tax_code": r.tax_code, "tracking": [t.option_id for t in r.tracking]}

        return {
            "added": [brief(r) for r in self.added],
            "removed": [brief(r) for r in self.removed],
            "changed": [{**conditions(c.old), "fields": list(c.fields),
                         "old": {f: _plain(getattr(c.old, f)) for f in c.fields},
                         "new": {f: _plain(getattr(c.new, f)) for f in c.fields}} for c in self.changed],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [{"category": t.category_id, "option": t.option_id, "name": t.name} for t in value]
    return value


def diff_rules(old: Sequence[Rule], new: Sequence[Rule]) -> RuleDiff:
    """The difference from ``old`` to ``new`` (see the module docstring for the pairing)."""
    pending: dict[tuple[str | None, ...], list[Rule]] = {}
    for rule in old:
        pending.setdefault(rule.match_key, []).append(rule)
    added: list[Rule] = []
    changed: list[RuleChange] = []
    for rule in new:
        bucket = pending.get(rule.match_key)
        if not bucket:
            added.append(rule)
            continue
        # Prefer an identical partner so reordering duplicates is not reported as a change.
        partner = next((r for r in bucket if r == rule), bucket[0])
        bucket.remove(partner)
        if partner != rule:
            changed.append(RuleChange(partner, rule))
    removed = [r for bucket in pending.values() for r in bucket]
    return RuleDiff(tuple(added), tuple(removed), tuple(changed))
