"""The recipes' shared shapes: a return's pieces, the platform-neutral journals, and what a platform may read of a run.

The lowest module of the recipes (it imports none of them), so the platform interface
(:mod:`.base`), the run's context (:mod:`.common`), the journal builder (:mod:`.journal`) and the
renderers (:mod:`.qbo`, :mod:`.xero`) all name these types without importing one another in a
circle. :class:`RecipeContext` is what a platform's facts and renderer read of one run — the
:class:`~.common.Ctx` satisfies it — so the interface does not depend on the context that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from desktop.services.core.domain import Component, OrgSettings, ReturnRecord, TaxAmount
from desktop.services.core.money import Money
from desktop.services.mapping.model import MappingTarget
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.pipeline.documents import JournalLine
from desktop.services.pipeline.fx import FxUse
from desktop.services.platforms.base import RefRecord

if TYPE_CHECKING:
    from desktop.services.connections.refcache import ItemStock

__all__ = ["Payout", "Piece", "RecipeContext", "ReturnJournal", "SalesForm", "SalesLine", "SideJournal",
           "SummaryJournal", "TaxPrediction"]


class RecipeContext(Protocol):
    """What a platform's facts and renderer read of one recipe run (:class:`~.common.Ctx`)."""

    @property
    def ret(self) -> ReturnRecord: ...

    @property
    def resolver(self) -> Resolver: ...

    @property
    def snap(self) -> ReferenceSnapshot: ...

    @property
    def settings(self) -> OrgSettings: ...

    @property
    def ledger(self) -> str:
        """The ledger's name in messages ("QuickBooks Online", or "the ledger")."""

    def problem(self, code: str, message: str, field_: str | None = None) -> None:
        """Record a problem (once per code and message)."""


@dataclass
class TaxPrediction:
    """The tax a platform will book on a sales form, per jurisdiction (document currency).

    ``ok`` False means a problem was already raised (e.g. the mapped code's rate differs from the
    RMS's): the difference to the RMS is then neither a rounding line nor a second problem.
    ``doc_code`` is a document-level tax code where the platform wants one (QBO US).
    """

    by_jurisdiction: dict[str, Decimal]
    ok: bool = True
    doc_code: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Piece:
    """One line of a sales document: merchandise, or a fee carried as a line. Amounts signed:
    positive adds to the refund (a debit on its account), negative withholds (a credit)."""

    component: Component
    description: str
    quantity: Decimal
    unit_price: Money
    net: Money
    taxes: tuple[TaxAmount, ...]    # amounts signed like ``net``
    tax: Money
    target: MappingTarget | None
    tax_target: MappingTarget | None  # the tax code for this piece's jurisdiction set
    juris_key: str | None
    field: str
    #: The ledger's tracked inventory item this line goes back into (``tracked.py``): the renderer
    #: puts the item and quantity on the line and the ledger books the stock and its cost.
    stock: ItemStock | None = None


@dataclass(frozen=True)
class SalesLine:
    """A piece of the sales form with its tax code decided (mapped code, or the untaxed code)."""

    piece: Piece
    tax_code: str | None


@dataclass(frozen=True)
class SalesForm:
    """The customer-facing document: refund form or credit, lines, tax, rounding, settlement."""

    refund: bool                      # refund to the original payment (else customer credit)
    settled_on_form: bool             # the form itself credits the refund account (QBO RefundReceipt)
    lines: tuple[SalesLine, ...]
    tax: TaxPrediction                # what the ledger books per jurisdiction
    codes: dict[str, str]             # jurisdiction set → mapped tax code
    rounding: Decimal                 # the tax rounding line's amount; 0 = none
    rounding_target: MappingTarget | None
    rounding_code: str | None
    total: Money
    settle_account: str               # the refund account's id when settled on the form
    journal: tuple[JournalLine, ...]
    #: A dearer exchange: the customer pays the difference (``total`` negative). Renderers post
    #: the form with every amount negated — replacement goods positive, returned goods negative —
    #: as a sale (QBO SalesReceipt, Xero ACCREC Invoice) of ``-total``.
    charge: bool = False


@dataclass(frozen=True)
class Payout:
    """A refund paid out against the credit (platforms with ``refund_by_payment``) — or store credit
    moved to the liability account the same way."""

    amount: Money
    target: MappingTarget | None
    journal: tuple[JournalLine, ...]
    role: str = "refund_payment"      # store credit as a liability: "store_credit_payment"; a charge: "charge_payment"
    what: str = "refund"


@dataclass(frozen=True)
class SideJournal:
    """A journal beside the sales form (fees withheld, label cost), in the return's currency."""

    role: str
    what: str
    lines: tuple[JournalLine, ...]
    customer_lines: frozenset[int]    # lines on Accounts Receivable, naming the customer
    refund_effect: Money | None


@dataclass(frozen=True)
class ReturnJournal:
    """Everything one return revision posts, platform-neutral, in posting order."""

    ctx: RecipeContext
    day: date
    note: str | None
    fx: FxUse | None
    customer: RefRecord | None
    form: SalesForm
    payout: Payout | None
    journals: tuple[SideJournal, ...]


@dataclass(frozen=True)
class SummaryJournal:
    """One day's returns of one organization and currency, netted per account (summary mode)."""

    snap: ReferenceSnapshot
    platform: str                     # the snapshot's platform name, as the document records it
    home_currency: str
    org: str
    day: date                         # the returns' local day (the key)
    post_day: date                    # the posting date (moved out of a closed period)
    currency: str
    note: str | None
    fx: FxUse | None
    journal: tuple[JournalLine, ...]
    key: str
    text: str
    refund: Money
    returns: tuple[tuple[str, int], ...]
    mapping_version: int
