"""Resolution: which rule of a mapping set decides a given context (DESIGN.md §6).

Order, for the rules of the context's component that match it:

1. the most specific rule wins (the one pinning the most match fields);
2. among equally specific rules, the highest ``priority`` wins;
3. remaining ties go to the lowest rule id (the oldest rule; for unsaved rules, the earlier one
   in the list), so resolution never depends on database row order.

Recipes call :meth:`Resolver.resolve` once per line, fee and tax of every return — thousands of
times a second in summary mode — so the rules are pre-sorted per component into that order
(the first match is the winner) and answers are memoised per context (contexts are hashable and
few distinct ones occur: a handful of codes per field).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from desktop.services.core.domain import Component
from desktop.services.mapping.model import MappingTarget, MatchContext, Rule

__all__ = ["Resolver", "sort_key"]

_CACHE_LIMIT = 100_000

# One compiled rule: the (index, value) pairs it pins, and its answer.
_Compiled = tuple[tuple[tuple[int, str], ...], MappingTarget]


def sort_key(rule: Rule, position: int) -> tuple[int, int, int]:
    """The precedence order: specificity desc, priority desc, id (or list position) asc."""
    tie = rule.rule_id if rule.rule_id is not None else position
    return (-rule.specificity, -rule.priority, tie)


class Resolver:
    """The rules of one mapping-set version, indexed for fast lookups. Pure: no database.

    Args:
        rules: the set's rules (any order).
        version: the mapping-set version they come from (0 for "no mapping yet").
        account_codes: remote account id → account code (Xero ``Code`` / QBO ``AcctNum``), so
            targets carry the code Xero line items use; from a
            :class:`~desktop.services.mapping.reference.ReferenceSnapshot`.
    """

    def __init__(self, rules: Iterable[Rule], version: int = 0, *,
                 account_codes: Mapping[str, str | None] | None = None) -> None:
        self._version = version
        codes = account_codes or {}
        ordered = sorted(enumerate(rules), key=lambda pair: sort_key(pair[1], pair[0]))
        self._rules: tuple[Rule, ...] = tuple(rule for _, rule in ordered)
        self._index: dict[Component, list[_Compiled]] = {}
        for rule in self._rules:
            pins = tuple((i, v) for i, v in enumerate(rule.values()) if v is not None)
            target = rule.target(codes.get(rule.account_id) if rule.account_id else None)
            self._index.setdefault(rule.component, []).append((pins, target))
        self._cache: dict[MatchContext, MappingTarget | None] = {}

    @property
    def version(self) -> int:
        return self._version

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules in precedence order (the first matching one wins)."""
        return self._rules

    def resolve(self, ctx: MatchContext) -> MappingTarget | None:
        """The target of the winning rule for ``ctx``, or ``None`` when no rule matches."""
        try:
            return self._cache[ctx]
        except KeyError:
            pass
        found = self._find(ctx)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[ctx] = found
        return found

    def winner(self, ctx: MatchContext) -> Rule | None:
        """The rule that decides ``ctx`` (for explanations in the editor), or ``None``."""
        for rule in self._rules:
            if rule.matches(ctx):
                return rule
        return None

    def _find(self, ctx: MatchContext) -> MappingTarget | None:
        values = ctx.values()
        for pins, target in self._index.get(ctx.component, ()):
            for i, v in pins:
                if values[i] != v:
                    break
            else:
                return target
        return None

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"Resolver(version={self._version}, rules={len(self._rules)})"
