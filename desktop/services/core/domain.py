"""The domain: a return as the RMS states it, in exact money, plus per-organization settings.

These are plain frozen dataclasses — what recipes, pre-flight, reconciliation and the views
share. The database rows (``store.models``) and the RMS JSON (``docs/rms-api.yaml``) are
converted to and from them at the edges (``rms/parse.py``, ``rms/records.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import Money, sum_money


class Component(StrEnum):
    """What a mapping rule maps: each part of a return that lands on its own account."""

    MERCHANDISE = "merchandise"                      # Dr sales returns (contra revenue)
    TAX = "tax"                                      # Dr tax payable, per jurisdiction
    RESTOCKING_FEE = "restocking_fee"                # Cr fee income (withheld from the refund)
    RETURN_SHIPPING_CHARGED = "return_shipping_charged"  # Cr shipping income (withheld)
    OUTBOUND_SHIPPING_REFUNDED = "outbound_shipping_refunded"  # Dr shipping income / contra
    LABEL_COST = "label_cost"                        # Dr shipping expense, Cr clearing/payable
    REFUND = "refund"                                # Cr bank / clearing / A/R: where the money goes
    CLEARING = "clearing"                            # refunds clearing account (summary mode, label cost)
    STORE_CREDIT = "store_credit"                    # Cr store credit / gift card liability (org setting)
    REPLACEMENT = "replacement"                      # Cr sales: the replacement goods of an exchange
    INVENTORY_ASSET = "inventory_asset"              # Dr inventory asset: goods back on the shelf at cost
    COGS = "cogs"                                    # Cr cost of goods sold: the cost no longer sold
    INVENTORY_WRITE_OFF = "inventory_write_off"      # Dr write-off expense: damaged goods at cost
    RETURN_TO_VENDOR = "return_to_vendor"            # the supplier of a vendor credit (a vendor, not an account)


FEE_COMPONENTS: dict[FeeType, Component] = {
    FeeType.RESTOCKING_FEE: Component.RESTOCKING_FEE,
    FeeType.RETURN_SHIPPING_CHARGED: Component.RETURN_SHIPPING_CHARGED,
    FeeType.OUTBOUND_SHIPPING_REFUNDED: Component.OUTBOUND_SHIPPING_REFUNDED,
    FeeType.LABEL_COST: Component.LABEL_COST,
}

#: How each fee moves the refund paid to the customer: -1 withheld, +1 added, 0 no effect.
FEE_REFUND_SIGN: dict[FeeType, int] = {
    FeeType.RESTOCKING_FEE: -1,
    FeeType.RETURN_SHIPPING_CHARGED: -1,
    FeeType.OUTBOUND_SHIPPING_REFUNDED: 1,
    FeeType.LABEL_COST: 0,
}


@dataclass(frozen=True)
class TaxAmount:
    jurisdiction: str   # the RMS's code, e.g. "US-CA-LA"
    rate: Decimal       # percent, e.g. Decimal("9.5")
    amount: Money


@dataclass(frozen=True)
class Customer:
    rms_id: str
    name: str
    email: str


@dataclass(frozen=True)
class ReturnLine:
    line_id: str
    sku: str
    description: str
    quantity: Decimal
    unit_price: Money
    reason_code: str
    disposition: str
    taxes: tuple[TaxAmount, ...] = ()
    #: The RMS's cost of one unit, in the return's currency; ``None`` when the RMS does not know it.
    unit_cost: Money | None = None

    @property
    def net(self) -> Money:
        """Quantity × unit price, rounded to the currency (half-even) — the line's amount."""
        return (self.unit_price * self.quantity).quantize()

    @property
    def tax(self) -> Money:
        return sum_money((t.amount for t in self.taxes), self.unit_price.currency)


@dataclass(frozen=True)
class Fee:
    type: FeeType
    amount: Money      # always positive; FEE_REFUND_SIGN says which way it moves the refund
    taxes: tuple[TaxAmount, ...] = ()

    @property
    def tax(self) -> Money:
        return sum_money((t.amount for t in self.taxes), self.amount.currency)


@dataclass(frozen=True)
class ReturnRecord:
    """One revision of one return, validated: every amount exact and in ``currency``."""

    rms_id: str
    rma_number: str
    revision: int
    org_code: str
    customer: Customer
    channel: str
    warehouse: str
    currency: str
    created_at: datetime
    updated_at: datetime
    refund_method: RefundMethod
    status: str
    lines: tuple[ReturnLine, ...]
    fees: tuple[Fee, ...] = ()
    refund_total: Money | None = None  # as the RMS states it
    #: An exchange's replacement goods (the RMS's optional ``exchange.lines``): their value and tax
    #: are set against the returned goods, so only the difference is refunded (or charged).
    replacements: tuple[ReturnLine, ...] = ()
    #: Times an undo took this revision's documents back; its documents' keys and numbers carry it.
    posting_round: int = 0

    def computed_refund(self) -> Money:
        """What the customer gets back: lines and their tax, ± fees (and their tax) by type."""
        total = Money.zero(self.currency)
        for line in self.lines:
            total = total + line.net + line.tax
        for fee in self.fees:
            total = total + (fee.amount + fee.tax) * FEE_REFUND_SIGN[fee.type]
        for line in self.replacements:
            total = total - line.net - line.tax
        return total

    @property
    def jurisdictions(self) -> frozenset[str]:
        codes = {t.jurisdiction for line in (*self.lines, *self.replacements) for t in line.taxes}
        return frozenset(codes | {t.jurisdiction for fee in self.fees for t in fee.taxes})


@dataclass(frozen=True)
class Problem:
    """One specific, actionable reason a record or document cannot go on.

    ``code`` is stable (for filters and metrics), ``message`` is for the person who must act
    and says what to do, ``field`` points at the offending part (e.g. ``lines[2].quantity``).
    """

    code: str
    message: str
    field: str | None = None


class PostingMode(StrEnum):
    PER_RETURN = "per_return"
    DAILY_SUMMARY = "daily_summary"


class FeeTreatment(StrEnum):
    NEGATIVE_LINE = "negative_line"    # a negative line on the credit memo / note
    SEPARATE_JOURNAL = "separate_journal"  # a JournalEntry / ManualJournal beside it


class StoreCreditTreatment(StrEnum):
    """Where store credit the shop issues sits (its redemption is the shop's sales integration's business)."""

    RECEIVABLE = "receivable"   # the customer's credit on Accounts Receivable (credit memo / note)
    LIABILITY = "liability"     # moved to a mapped store credit / gift card liability account


class GoodsPosting(StrEnum):
    """Whether returned goods move inventory and cost of goods sold (issue 16)."""

    OFF = "off"            # the ledger's inventory and COGS are kept by hand (or by another tool)
    JOURNAL = "journal"    # a goods journal per return: Dr inventory / write-off, Cr COGS at the RMS's cost


class DamagedGoods(StrEnum):
    """What a damaged (or scrapped) line does to the books when goods posting is on."""

    WRITE_OFF = "write_off"                      # Dr inventory write-off expense, Cr COGS at cost
    NO_INVENTORY_EFFECT = "no_inventory_effect"  # nothing: the cost stays in COGS


class ReturnToVendor(StrEnum):
    """What goods going back to the supplier post when goods posting is on."""

    NOTHING = "nothing"              # no goods effect (adjusted in the ledger by hand)
    VENDOR_CREDIT = "vendor_credit"  # one vendor credit per return against the mapped supplier


class ClosedPeriodPolicy(StrEnum):
    QUARANTINE = "quarantine"           # a person decides
    FIRST_OPEN_DAY = "first_open_day"   # date the document on the first open day instead


@dataclass(frozen=True)
class PostingSetting:
    """One per-organization posting setting as people meet it: the :class:`OrgSettings` field it
    sets (``name``), the Settings page's label, the words of each choice and what each choice does.

    The Settings page, ``returns-ledger settings`` and the messages that send a person to a setting
    all read this, so what a message quotes is exactly what the screen shows.
    """

    name: str
    label: str
    choices: dict[StrEnum, str]
    explanations: dict[StrEnum, str]
    hint: str = ""

    @property
    def kebab(self) -> str:
        """The CLI's name for it: ``closed-period``."""
        return self.name.replace("_", "-")

    @property
    def enum(self) -> type[StrEnum]:
        return type(next(iter(self.choices)))


#: The posting settings, in the order the Settings page and ``settings show`` list them.
POSTING_SETTINGS: dict[str, PostingSetting] = {s.name: s for s in (
    PostingSetting("posting_mode", "Posting mode", {
        PostingMode.PER_RETURN: "Documents per return",
        PostingMode.DAILY_SUMMARY: "One summary journal a day",
    }, {
        PostingMode.PER_RETURN: "Each return posts its own credit memo / credit note (and its refund), so the ledger "
                                "shows every return with its customer.",
        PostingMode.DAILY_SUMMARY: "One journal per day and currency sums the day's returns through a refunds "
                                   "clearing account: far fewer documents and ledger calls, no per-customer detail.",
    }, "How returns reach the ledger."),
    PostingSetting("fee_treatment", "Fees withheld", {
        FeeTreatment.SEPARATE_JOURNAL: "Separate journal",
        FeeTreatment.NEGATIVE_LINE: "Negative line on the credit",
    }, {
        FeeTreatment.SEPARATE_JOURNAL: "The credit memo / note shows the goods at their full value; a journal "
                                       "beside it books the fees kept from the refund to fee income.",
        FeeTreatment.NEGATIVE_LINE: "The fees are negative lines on the credit memo / credit note itself, so it "
                                    "totals what the customer gets back.",
    }, "Restocking and return-shipping fees kept from a refund."),
    PostingSetting("closed_period", "Closed period", {
        ClosedPeriodPolicy.QUARANTINE: "Hold for a person",
        ClosedPeriodPolicy.FIRST_OPEN_DAY: "First open day",
    }, {
        ClosedPeriodPolicy.QUARANTINE:
            "The return waits with a “needs a person” message until an accountant reopens the period in the ledger "
            "(then it is retried), or someone changes this setting. Nothing lands in a period that was closed on "
            "purpose.",
        ClosedPeriodPolicy.FIRST_OPEN_DAY:
            "The documents are dated on the first day after the closed period and posted without waiting; their "
            "note says they were re-dated and from which day. The refund then counts in the open period.",
    }, "A return dated in a period the ledger has closed (month-end is done)."),
    PostingSetting("store_credit", "Store credit", {
        StoreCreditTreatment.RECEIVABLE: "Customer credit (Accounts Receivable)",
        StoreCreditTreatment.LIABILITY: "Store credit liability account",
    }, {
        StoreCreditTreatment.RECEIVABLE: "The credit stays with the customer on Accounts Receivable, for the "
                                         "customer's next invoice to use.",
        StoreCreditTreatment.LIABILITY: "The credit moves to the account of the “Store credit liability” mapping "
                                        "rule (gift card / store credit liability); without that rule such returns "
                                        "wait for a person.",
    }, "Store credit the shop issues for a return (its redemption is the shop's sales integration's)."),
    PostingSetting("goods_posting", "Returned goods", {
        GoodsPosting.OFF: "No inventory or cost of goods",
        GoodsPosting.JOURNAL: "Goods journal at the RMS's cost",
    }, {
        GoodsPosting.OFF: "Returns move revenue, tax, fees and the refund only; inventory and cost of goods sold "
                          "are adjusted in the ledger by hand.",
        GoodsPosting.JOURNAL: "Each return also posts a goods journal at the RMS's unit cost: restocked and "
                              "refurbished goods Dr inventory asset, Cr cost of goods sold; damaged goods per "
                              "“Damaged goods”. A line whose cost the RMS does not know waits for a person "
                              "(never a guessed cost); goods going back to the supplier per “Goods returned to the "
                              "vendor”.",
    }, "Returned goods' cost. Where the ledger tracks a SKU as an inventory item, goods back in stock go "
       "through that item instead (the ledger books the quantity and the cost)."),
    PostingSetting("damaged_goods", "Damaged goods", {
        DamagedGoods.WRITE_OFF: "Write off at cost",
        DamagedGoods.NO_INVENTORY_EFFECT: "No inventory effect",
    }, {
        DamagedGoods.WRITE_OFF: "A damaged or scrapped line's cost moves from cost of goods sold to the inventory "
                                "write-off expense account of its mapping rule (Dr write-off, Cr COGS).",
        DamagedGoods.NO_INVENTORY_EFFECT: "A damaged or scrapped line posts no goods journal: its cost stays in "
                                          "cost of goods sold.",
    }, "Damaged or scrapped returned goods, when returned goods post a goods journal."),
    PostingSetting("return_to_vendor", "Goods returned to the vendor", {
        ReturnToVendor.NOTHING: "No vendor credit",
        ReturnToVendor.VENDOR_CREDIT: "Vendor credit against the mapped supplier",
    }, {
        ReturnToVendor.NOTHING: "Goods going back to the supplier post nothing; the supplier's credit is entered in "
                                "the ledger by hand.",
        ReturnToVendor.VENDOR_CREDIT: "Each such return also posts a vendor credit (QuickBooks VendorCredit, Xero "
                                      "supplier credit note) at cost against the supplier of its “Supplier (goods "
                                      "returned to vendor)” mapping rule; without that rule, or without a known cost, "
                                      "the return waits for a person.",
    }, "Returned goods going back to the supplier, when returned goods post."),
)}

#: The closed-period setting's words; messages that send a person to it quote these (:func:`closed_period_fix`).
CLOSED_PERIOD_LABEL = POSTING_SETTINGS["closed_period"].label
CLOSED_PERIOD_CHOICES: dict[StrEnum, str] = POSTING_SETTINGS["closed_period"].choices


def closed_period_fix(org: str | None = None) -> str:
    """Where an admin switches ``org`` (or "the organization") to re-dating, in the screen's own words."""
    who = org or "the organization"
    return (f"set “{CLOSED_PERIOD_LABEL}” to “{CLOSED_PERIOD_CHOICES[ClosedPeriodPolicy.FIRST_OPEN_DAY]}” for {who} "
            f"on the Settings page (or `returns-ledger settings set --org {org or 'ORG'} closed-period "
            "first-open-day`)")


@dataclass(frozen=True)
class OrgSettings:
    """Per-organization posting choices, stored in ``organizations.settings``."""

    posting_mode: PostingMode = PostingMode.PER_RETURN
    fee_treatment: FeeTreatment = FeeTreatment.SEPARATE_JOURNAL
    closed_period: ClosedPeriodPolicy = ClosedPeriodPolicy.QUARANTINE
    token_reminder_days: int = 14
    store_credit: StoreCreditTreatment = StoreCreditTreatment.RECEIVABLE
    goods_posting: GoodsPosting = GoodsPosting.OFF
    damaged_goods: DamagedGoods = DamagedGoods.WRITE_OFF
    return_to_vendor: ReturnToVendor = ReturnToVendor.NOTHING
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> OrgSettings:
        data = dict(data or {})
        known = {
            "posting_mode": PostingMode(str(data.pop("posting_mode", PostingMode.PER_RETURN))),
            "fee_treatment": FeeTreatment(str(data.pop("fee_treatment", FeeTreatment.SEPARATE_JOURNAL))),
            "closed_period": ClosedPeriodPolicy(str(data.pop("closed_period", ClosedPeriodPolicy.QUARANTINE))),
            "token_reminder_days": int(str(data.pop("token_reminder_days", 14))),
            "store_credit": StoreCreditTreatment(str(data.pop("store_credit", StoreCreditTreatment.RECEIVABLE))),
            "goods_posting": GoodsPosting(str(data.pop("goods_posting", GoodsPosting.OFF))),
            "damaged_goods": DamagedGoods(str(data.pop("damaged_goods", DamagedGoods.WRITE_OFF))),
            "return_to_vendor": ReturnToVendor(str(data.pop("return_to_vendor", ReturnToVendor.NOTHING))),
        }
        return cls(**known, extra=data)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        return {"posting_mode": self.posting_mode.value, "fee_treatment": self.fee_treatment.value,
                "closed_period": self.closed_period.value, "token_reminder_days": self.token_reminder_days,
                "store_credit": self.store_credit.value, "goods_posting": self.goods_posting.value,
                "damaged_goods": self.damaged_goods.value, "return_to_vendor": self.return_to_vendor.value,
                **self.extra}


class GoodsEffect(StrEnum):
    """What a returned line's disposition does to inventory and cost of goods sold."""

    BACK_IN_STOCK = "back_in_stock"   # Dr inventory asset, Cr COGS
    DAMAGED = "damaged"               # Dr inventory write-off, Cr COGS (or nothing, per setting)
    TO_VENDOR = "to_vendor"           # the vendor-credit path's: no goods journal


#: The RMS's dispositions (``docs/rms-api.yaml``; ``SCRAP`` is its word for damaged goods) → effect.
DISPOSITION_EFFECTS: dict[str, GoodsEffect] = {
    "RESTOCK": GoodsEffect.BACK_IN_STOCK,
    "REFURBISH": GoodsEffect.BACK_IN_STOCK,
    "SCRAP": GoodsEffect.DAMAGED,
    "RETURN_TO_VENDOR": GoodsEffect.TO_VENDOR,
}

_GOODS_DEBIT: dict[GoodsEffect, Component] = {
    GoodsEffect.BACK_IN_STOCK: Component.INVENTORY_ASSET,
    GoodsEffect.DAMAGED: Component.INVENTORY_WRITE_OFF,
}


def goods_debit(line: ReturnLine, settings: OrgSettings | None) -> Component | None:
    """The account a returned line's cost moves to out of cost of goods sold (Dr it, Cr COGS), by
    its disposition and the organization's settings; ``None`` when the goods journal leaves it alone
    (goods posting off, damaged goods with no inventory effect, goods returned to the vendor)."""
    if settings is None or settings.goods_posting is not GoodsPosting.JOURNAL:
        return None
    effect = DISPOSITION_EFFECTS.get(line.disposition)
    if effect is GoodsEffect.DAMAGED and settings.damaged_goods is DamagedGoods.NO_INVENTORY_EFFECT:
        return None
    return _GOODS_DEBIT.get(effect) if effect is not None else None


def to_vendor(line: ReturnLine, settings: OrgSettings | None) -> bool:
    """Does ``line`` go back to its supplier on a vendor credit (goods posting on, ``RETURN_TO_VENDOR``)?"""
    return (settings is not None and settings.goods_posting is GoodsPosting.JOURNAL
            and settings.return_to_vendor is ReturnToVendor.VENDOR_CREDIT
            and DISPOSITION_EFFECTS.get(line.disposition) is GoodsEffect.TO_VENDOR)


class Settlement(StrEnum):
    """How the money of a return moves (:func:`settlement`): the one rule recipes, mapping checks and
    pre-flight share."""

    REFUND = "refund"          # paid back to the original payment (Cr the mapped refund account)
    CREDIT = "credit"          # customer credit on Accounts Receivable (today's store credit / exchange)
    LIABILITY = "liability"    # store credit moved to the mapped store credit liability account
    EVEN = "even"              # an even exchange: no money moves, only goods and tax
    CHARGE = "charge"          # an exchange the customer pays a difference on


def settlement(ret: ReturnRecord, settings: OrgSettings | None) -> Settlement:
    """How ``ret``'s money moves: a refund to the original payment, store credit (on A/R or, by the
    organization's setting, on a liability account), or — for an exchange whose replacement goods
    the RMS states — the refund or the charge of the difference, none when it is even. An
    exchange without replacements stays customer credit (the replacement's invoice consumes it)."""
    method = ret.refund_method
    if method is RefundMethod.ORIGINAL_PAYMENT:
        return Settlement.REFUND
    if method is RefundMethod.EXCHANGE and ret.replacements:
        diff = ret.computed_refund().amount
        return Settlement.REFUND if diff > 0 else Settlement.CHARGE if diff < 0 else Settlement.EVEN
    if (method is RefundMethod.STORE_CREDIT and settings is not None
            and settings.store_credit is StoreCreditTreatment.LIABILITY):
        return Settlement.LIABILITY
    return Settlement.CREDIT


# Value types the views need, re-exported so they never import ``desktop.services.store``
# (an import-linter contract in pyproject.toml keeps it so).
from desktop.services.core.enums import ManualEntryPath as ManualEntryPath  # noqa: E402
from desktop.services.core.enums import VarianceStatus as VarianceStatus  # noqa: E402
