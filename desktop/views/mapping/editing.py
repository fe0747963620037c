"""What dropping an RMS code onto a ledger record does to a rule list — Qt-free, so it is testable
without widgets and could move into ``desktop.services.mapping`` as it stands.

A drop either *changes* the rule that already has exactly the code's conditions, or *creates*
one. It is refused when the service validator (:func:`~desktop.services.mapping.validate`) finds
a problem with the very field the drop sets, and the refusal quotes the validator's message, so
the editor and a later save never disagree about what is allowed ("Restocking fee → account 1000
'Checking' is a Bank account; restocking fee must go to an Income or Other Income account").

Codes stand for contexts: a reason code or a disposition or a channel on its own means merchandise
with that condition; a fee type is its fee component; a tax jurisdiction is tax for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from desktop.services.core.domain import FEE_COMPONENTS, Component, FeeType
from desktop.services.mapping.model import (
    COMPONENT_LABELS,
    MATCH_FIELDS,
    VENDOR_COMPONENTS,
    MatchContext,
    Rule,
    TrackingRef,
)
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.mapping.validate import validate
from desktop.services.platforms.base import RefRecord

__all__ = [
    "CHANNELS",
    "CODE_KINDS",
    "CodeRef",
    "CodeStatus",
    "DropOutcome",
    "TargetRef",
    "apply_drop",
    "code_label",
    "code_statuses",
    "rule_target_kind",
    "target_label",
]

#: The RMS contract's ``Return.channel`` enum (docs/rms-api.yaml); the services keep no constant for it.
CHANNELS: tuple[str, ...] = ("web", "store", "marketplace", "phone")

#: Code kinds in the order the editor lists them, with their group headings.
CODE_KINDS: dict[str, str] = {
    "component": "Components", "reason_code": "Reason codes", "disposition": "Dispositions",
    "fee_type": "Fee types", "tax_jurisdiction": "Tax jurisdictions", "channel": "Channels",
}
#: Target kinds a drop may land on; anything else (a heading, a tracking category) is refused. A vendor
#: (a Supplier rule's target) is kept in the rule's account field, as mapping files and the recipe read it.
TARGET_FIELDS: dict[str, str] = {"account": "account", "tax_code": "tax_code", "item": "item",
                                 "tracking": "tracking", "vendor": "account"}
#: Target kind → the snapshot's records of that kind (labels and lookups).
_RECORDS: dict[str, str] = {"account": "accounts", "tax_code": "tax_codes", "item": "items", "vendor": "vendors"}


@dataclass(frozen=True)
class CodeRef:
    """One RMS code as dragged: its kind (a key of :data:`CODE_KINDS`) and value."""

    kind: str
    value: str

    def base_rule(self) -> Rule:
        """The rule with exactly this code's conditions and no target yet."""
        if self.kind == "component":
            return Rule(Component(self.value))
        if self.kind == "fee_type":
            return Rule(FEE_COMPONENTS[FeeType(self.value)])
        if self.kind == "tax_jurisdiction":
            return Rule(Component.TAX, tax_jurisdiction=self.value)
        if self.kind in ("reason_code", "disposition", "channel"):
            extra: dict[str, Any] = {self.kind: self.value}
            return Rule(Component.MERCHANDISE, **extra)
        raise ValueError(f"unknown code kind {self.kind!r}")

    def context(self) -> MatchContext:
        rule = self.base_rule()
        return MatchContext(rule.component, *rule.values())


@dataclass(frozen=True)
class TargetRef:
    """A ledger record a code can be dropped on. ``kind`` is account/tax_code/item/tracking, or
    ``heading`` / ``category`` for tree rows that only group others. ``category_id`` is the
    tracking category (Xero) or ``class``/``department`` (QBO)."""

    kind: str
    id: str
    name: str = ""
    category_id: str | None = None


@dataclass(frozen=True)
class DropOutcome:
    """The rule list after a drop (``None`` when refused), which row it touched, and why not."""

    rules: tuple[Rule, ...] | None
    row: int = -1
    created: bool = False
    reason: str | None = None
    summary: str = ""

    @property
    def accepted(self) -> bool:
        return self.rules is not None


def code_label(code: CodeRef) -> str:
    """How the code list shows a code: components and fee types by their label, others verbatim."""
    if code.kind == "component":
        return COMPONENT_LABELS[Component(code.value)]
    if code.kind == "fee_type":
        return COMPONENT_LABELS[FEE_COMPONENTS[FeeType(code.value)]]
    return code.value


def target_label(snapshot: ReferenceSnapshot | None, kind: str, remote_id: str | None) -> str:
    """``"4010 · Sales Returns"`` for an account id, the name for others; the id when unknown."""
    if not remote_id:
        return ""
    record: RefRecord | None = None
    if snapshot is not None:
        records: Mapping[str, RefRecord] = getattr(snapshot, _RECORDS[kind]) if kind in _RECORDS else {}
        record = records.get(remote_id)
    if record is None:
        return f"{remote_id} (unknown)" if snapshot is not None and snapshot.accounts else remote_id
    return f"{record.code} · {record.name}" if kind == "account" and record.code else record.name


def rule_target_kind(component: Component) -> str:
    """What a rule for ``component`` names in its account field: a ``vendor`` or an ``account``."""
    return "vendor" if component in VENDOR_COMPONENTS else "account"


def _find(rules: Sequence[Rule], key: tuple[str | None, ...]) -> int:
    """The rule with these conditions that currently wins among equals (highest priority, first)."""
    best = -1
    for i, rule in enumerate(rules):
        if rule.match_key == key and (best < 0 or rule.priority > rules[best].priority):
            best = i
    return best


def _with_target(rule: Rule, target: TargetRef, snapshot: ReferenceSnapshot) -> Rule:
    if target.kind == "vendor":
        return replace(rule, account_id=target.id)
    if target.kind == "account":
        item = snapshot.items.get(rule.item_id or "")
        keep_item = item is not None and item.parent_id == target.id
        return replace(rule, account_id=target.id, item_id=rule.item_id if keep_item else None)
    if target.kind == "tax_code":
        return replace(rule, tax_code=target.id)
    if target.kind == "item":
        item = snapshot.items.get(target.id)
        account = rule.account_id or (item.parent_id if item is not None else None)
        return replace(rule, item_id=target.id, account_id=account)
    category = target.category_id or ""
    ref = TrackingRef(category, target.id, target.name)
    kept = tuple(t for t in rule.tracking if t.category_id != category)
    return replace(rule, tracking=(*kept, ref))


def apply_drop(rules: Sequence[Rule], code: CodeRef, target: TargetRef,
               snapshot: ReferenceSnapshot) -> DropOutcome:
    """Drop ``code`` onto ``target``: the changed rule list, or the validator's reason for refusing."""
    if target.kind not in TARGET_FIELDS:
        what = "a tracking option" if target.kind == "category" else "an account, tax code, item or tracking option"
        return DropOutcome(None, reason=f"'{target.name or target.id}' only groups other records; drop "
                                        f"{code_label(code)} onto {what}")
    base = code.base_rule()
    wanted = rule_target_kind(base.component)
    if (target.kind == "vendor") != (wanted == "vendor"):
        what = "a vendor" if target.kind == "vendor" else "not a vendor"
        onto = "a vendor under Suppliers" if wanted == "vendor" else "an account, tax code, item or tracking option"
        return DropOutcome(None, reason=f"'{target.name or target.id}' is {what}; drop {code_label(code)} onto {onto}")
    row = _find(rules, base.match_key)
    created = row < 0
    candidate = _with_target(base if created else rules[row], target, snapshot)
    field = TARGET_FIELDS[target.kind]
    problems = [p for p in validate([candidate], snapshot)
                if p.field and p.field.split(".", 1)[-1].split("[", 1)[0] == field]
    if problems:
        return DropOutcome(None, reason=problems[0].message)
    if not created and candidate == rules[row]:
        return DropOutcome(tuple(rules), row, False, summary=f"{candidate.describe()} already maps there")
    new = list(rules)
    if created:
        new.append(candidate)
        row = len(new) - 1
    else:
        new[row] = candidate.with_id(rules[row].rule_id)
    shown = target_label(snapshot, target.kind, target.id) if target.kind != "tracking" else target.name
    verb = "New rule" if created else "Rule changed"
    return DropOutcome(tuple(new), row, created, summary=f"{verb}: {candidate.describe()} → {shown}")


@dataclass(frozen=True)
class CodeStatus:
    """How well one code is mapped: ``mapped``, ``partial`` or ``unmapped``, and a sentence why."""

    state: str
    text: str

    @property
    def mapped(self) -> bool:
        return self.state == "mapped"


def _describe_target(resolver: Resolver, ctx: MatchContext, snapshot: ReferenceSnapshot | None) -> str | None:
    target = resolver.resolve(ctx)
    if target is None:
        return None
    if ctx.component is Component.TAX:
        return target_label(snapshot, "tax_code", target.tax_code) if target.tax_code else None
    if target.account_id:
        return target_label(snapshot, rule_target_kind(ctx.component), target.account_id)
    return target_label(snapshot, "item", target.item_id) if target.item_id else None


def _codes_of(ctx: MatchContext) -> set[CodeRef]:
    out = {CodeRef("component", ctx.component.value)}
    fee = next((f for f, c in FEE_COMPONENTS.items() if c is ctx.component), None)
    if fee is not None:
        out.add(CodeRef("fee_type", fee.value))
    for name, value in zip(MATCH_FIELDS, ctx.values(), strict=True):
        if value is None or name not in CODE_KINDS:
            continue
        parts = value.split("+") if name == "tax_jurisdiction" else [value]
        out.update(CodeRef(name, p) for p in parts)
    return out


def code_statuses(codes: Iterable[CodeRef], rules: Sequence[Rule], snapshot: ReferenceSnapshot | None,
                  in_use: Iterable[MatchContext] = (),
                  jurisdictions: Iterable[str] = ()) -> Mapping[CodeRef, CodeStatus]:
    """Each code's status under ``rules``.

    A code is *unmapped* when returns waiting to post use it and would find no rule, or when
    nothing covers it at all; *partial* when only rules with further conditions cover it (tax is
    partial while some jurisdiction lacks a tax code).
    """
    resolver = Resolver(rules, account_codes=snapshot.account_codes() if snapshot is not None else None)
    stuck: dict[CodeRef, int] = {}
    for ctx in dict.fromkeys(in_use):
        if resolver.resolve(ctx) is None:
            for code in _codes_of(ctx):
                stuck[code] = stuck.get(code, 0) + 1
    juris = sorted(set(jurisdictions))
    out: dict[CodeRef, CodeStatus] = {}
    for code in codes:
        shown = _describe_target(resolver, code.context(), snapshot)
        waiting = stuck.get(code, 0)
        if waiting:
            out[code] = CodeStatus("unmapped", f"{waiting} kind(s) of return waiting to post use this code and "
                                               "match no rule; drop it onto an account")
        elif shown:
            out[code] = CodeStatus("mapped", f"→ {shown}")
        elif code == CodeRef("component", Component.TAX.value) and juris:
            missing = [j for j in juris if _describe_target(
                resolver, MatchContext(Component.TAX, tax_jurisdiction=j), snapshot) is None]
            if not missing:
                out[code] = CodeStatus("mapped", "All jurisdictions have a tax code")
            else:
                out[code] = CodeStatus("partial" if len(missing) < len(juris) else "unmapped",
                                       f"No tax code for {', '.join(missing)}")
        else:
            base = code.base_rule()
            partial = any(r.component is base.component and all(
                b is None or b == v for b, v in zip(base.values(), r.values(), strict=True)) for r in rules)
            out[code] = CodeStatus("partial", "Only rules with further conditions cover it") if partial else \
                CodeStatus("unmapped", "No rule: drop it onto an account, tax code, item or tracking option")
    return out
