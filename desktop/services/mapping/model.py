"""What a mapping rule is, what it matches and what it resolves to (DESIGN.md §6).

A rule says: "for this *component* of a return (merchandise, tax, a fee, the refund…), when the
return's reason code / disposition / channel / warehouse / currency / tax jurisdiction are these
(``None`` = any), post to this account, through this item, with this tax code and tracking".
Everything here is a frozen value: recipes hold them across threads and hash contexts for caching.

Tax jurisdictions: a line taxed by several jurisdictions at once (Los Angeles: ``US-CA`` and
``US-CA-LA``; British Columbia: ``CA-BC-GST`` and ``CA-BC-PST``) is matched by their *combined
key* (:func:`jurisdiction_key`, ``"CA-BC-GST+CA-BC-PST"``), because ledgers model such a line with
one combined tax code (QBO "GST/PST BC", AST's "Los Angeles County, CA"). Single jurisdictions are
matched by their own code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from desktop.services.core.domain import Component

__all__ = [
    "COMPONENT_LABELS",
    "MATCH_FIELDS",
    "VENDOR_COMPONENTS",
    "MappingTarget",
    "MatchContext",
    "Rule",
    "TrackingRef",
    "jurisdiction_key",
]

#: The match fields besides ``component``, in the order rules and contexts are compared.
MATCH_FIELDS: tuple[str, ...] = ("reason_code", "disposition", "channel", "warehouse", "currency",
                                 "tax_jurisdiction")

#: How a person reads each component in a message ("Restocking fee → account …").
COMPONENT_LABELS: dict[Component, str] = {
    Component.MERCHANDISE: "Merchandise refunded",
    Component.TAX: "Tax refunded",
    Component.RESTOCKING_FEE: "Restocking fee",
    Component.RETURN_SHIPPING_CHARGED: "Return shipping charged",
    Component.OUTBOUND_SHIPPING_REFUNDED: "Outbound shipping refunded",
    Component.LABEL_COST: "Return label cost",
    Component.REFUND: "Refund paid",
    Component.CLEARING: "Refunds clearing",
    Component.STORE_CREDIT: "Store credit liability",
    Component.REPLACEMENT: "Exchange replacement sold",
    Component.INVENTORY_ASSET: "Inventory asset (goods back in stock)",
    Component.COGS: "Cost of goods sold",
    Component.INVENTORY_WRITE_OFF: "Inventory write-off",
    Component.RETURN_TO_VENDOR: "Supplier (goods returned to vendor)",
}

#: Components whose rule names a vendor / supplier (its remote id in ``account_id``), not an account.
VENDOR_COMPONENTS: frozenset[Component] = frozenset({Component.RETURN_TO_VENDOR})


def jurisdiction_key(jurisdictions: Iterable[str]) -> str | None:
    """The match key of a set of tax jurisdictions: sorted, ``+``-joined; ``None`` when empty.

    Recipes and rules must agree on it, so both call this rather than joining by hand.
    """
    codes = sorted({j for j in jurisdictions if j})
    return "+".join(codes) if codes else None


@dataclass(frozen=True)
class MatchFields:
    """A component and the six match fields (:data:`MATCH_FIELDS`): what a rule matches on and
    what a recipe knows about the part of a return it posts, so the two line up by construction."""

    component: Component
    reason_code: str | None = None
    disposition: str | None = None
    channel: str | None = None
    warehouse: str | None = None
    currency: str | None = None
    tax_jurisdiction: str | None = None

    def values(self) -> tuple[str | None, ...]:
        """The match fields in :data:`MATCH_FIELDS` order."""
        return (self.reason_code, self.disposition, self.channel, self.warehouse, self.currency,
                self.tax_jurisdiction)


@dataclass(frozen=True)
class MatchContext(MatchFields):
    """What a recipe knows about the part of a return it is about to post."""

    def describe(self) -> str:
        """``"Restocking fee (channel web, currency AUD)"`` — for messages."""
        parts = [f"{name.replace('_', ' ')} {value}" for name, value in zip(MATCH_FIELDS, self.values(), strict=True)
                 if value is not None]
        label = COMPONENT_LABELS[self.component]
        return f"{label} ({', '.join(parts)})" if parts else label


@dataclass(frozen=True)
class TrackingRef:
    """One tracking assignment: a Xero category option, or a QBO class / department."""

    category_id: str        # Xero TrackingCategoryID, or "class" / "department" for QBO
    option_id: str          # Xero TrackingOptionID, or the QBO Class/Department Id
    name: str = field(default="", compare=False)  # a label for people; the ids are what count


@dataclass(frozen=True)
class MappingTarget:
    """Where a resolved component goes in the ledger; ``rule_id`` says which rule decided it."""

    rule_id: int | None
    account_id: str | None = None     # ledger remote id (QBO Account.Id / Xero AccountID)
    account_code: str | None = None   # Xero account Code (what Xero line items use); QBO AcctNum
    item_id: str | None = None        # QBO Item.Id realising the account on sales-form lines
    tax_code: str | None = None       # QBO TaxCode.Id / Xero TaxType
    tracking: tuple[TrackingRef, ...] = ()


@dataclass(frozen=True)
class Rule(MatchFields):
    """One editable rule of a mapping set (the database row, as a value).

    ``rule_id`` is the row id once saved; it takes no part in equality, so the same rule read
    from two versions compares equal.
    """

    priority: int = 0
    account_id: str | None = None
    item_id: str | None = None
    tax_code: str | None = None
    tracking: tuple[TrackingRef, ...] = ()
    note: str | None = None
    rule_id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "component", Component(self.component))
        for name in MATCH_FIELDS:  # "" from a form or a file means "any", like None
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        if self.currency is not None:
            object.__setattr__(self, "currency", self.currency.upper())
        object.__setattr__(self, "tracking", tuple(self.tracking))

    @property
    def match_key(self) -> tuple[str | None, ...]:
        """Component plus match fields: what identifies "the same rule" across versions."""
        return (self.component.value, *self.values())

    @property
    def specificity(self) -> int:
        """How many match fields besides the component are pinned (0–6)."""
        return sum(v is not None for v in self.values())

    def matches(self, ctx: MatchContext) -> bool:
        if ctx.component is not self.component:
            return False
        return all(r is None or r == c for r, c in zip(self.values(), ctx.values(), strict=True))

    def target(self, account_code: str | None = None) -> MappingTarget:
        return MappingTarget(rule_id=self.rule_id, account_id=self.account_id, account_code=account_code,
                             item_id=self.item_id, tax_code=self.tax_code, tracking=self.tracking)

    def with_id(self, rule_id: int | None) -> Rule:
        return replace(self, rule_id=rule_id)

    def describe(self) -> str:
        """``"Restocking fee (reason code DAMAGED)"`` — how messages name this rule."""
        return MatchContext(self.component, *self.values()).describe()
