"""The mapping engine: RMS codes → ledger accounts, items, tax codes and tracking (DESIGN.md §6).

- :mod:`.model` — rules, match contexts and targets (frozen values);
- :mod:`.resolve` — :class:`Resolver`: most specific rule, then priority, then oldest id;
- :mod:`.reference` — :class:`ReferenceSnapshot`: one connection's cached chart of accounts etc.;
- :mod:`.validate` — :func:`validate` against a snapshot, and the contexts a return needs;
- :mod:`.diff` — what changes between versions;
- :mod:`.io` — YAML/JSON import/export and the default templates in ``resources/mappings``;
- :mod:`.service` — :class:`MappingService`: versioned, audited, permission-checked sets.
"""

from desktop.services.mapping.diff import RuleChange, RuleDiff, diff_rules
from desktop.services.mapping.io import apply_template, default_template_name, load_template
from desktop.services.mapping.model import MappingTarget, MatchContext, Rule, TrackingRef, jurisdiction_key
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.mapping.service import MappingService, MappingSetView, VersionInfo
from desktop.services.mapping.validate import contexts_for_return, contexts_for_returns, validate

__all__ = [
    "MappingService",
    "MappingSetView",
    "MappingTarget",
    "MatchContext",
    "ReferenceSnapshot",
    "Resolver",
    "Rule",
    "RuleChange",
    "RuleDiff",
    "TrackingRef",
    "VersionInfo",
    "apply_template",
    "contexts_for_return",
    "contexts_for_returns",
    "default_template_name",
    "diff_rules",
    "jurisdiction_key",
    "load_template",
    "validate",
]
