"""What a ledger platform tells the recipes, and the registry that picks one by name.

A :class:`LedgerRecipes` has two halves:

- **facts** the platform-neutral journal builder (``journal.py``) asks about — how the platform
  labels an account, what tax it will book for a set of lines, which code an untaxed line carries,
  whether a manual journal may touch Accounts Receivable, whether a refund is a separate payment
  against the credit. Defaults here are the plain case (the ledger books the RMS's own tax);
  a platform overrides only what differs.
- a **renderer** that turns the finished :class:`~.journal.ReturnJournal` (or a day's summary)
  into that platform's payloads, and nothing else: no amount, tax or rounding decision is made
  while rendering.

The facts that are true of a platform whatever the recipe (account labels, published exchange
rates, one currency per customer, the tracking cap) come from its
:class:`~desktop.services.platforms.interface.PlatformProfile`; only what is the recipes' own is
written here. Platforms register themselves at import (``recipes/__init__`` imports them), keyed by
the profile's ``key``; callers do one :func:`platform_for` look-up on the snapshot's platform
instead of branching on its name.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from desktop.services.core.money import Money
from desktop.services.mapping.model import COMPONENT_LABELS
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.recipes.arith import dsum
from desktop.services.pipeline.recipes.shapes import (
    Piece,
    RecipeContext,
    ReturnJournal,
    SalesLine,
    SummaryJournal,
    TaxPrediction,
)
from desktop.services.platforms.base import RefRecord
from desktop.services.platforms.interface import PlatformProfile
from desktop.services.platforms.registry import LEGACY_PLATFORM, PROFILES

if TYPE_CHECKING:
    from desktop.services.pipeline.documents import JournalLine, LedgerDocument
    from desktop.services.pipeline.fx import FxUse
class LedgerRecipes:
    """One platform's facts and renderer. Subclasses set ``profile`` and implement ``render*``."""

    #: The platform this renders for; its ``key`` is the registry's key and the documents' platform.
    profile: PlatformProfile
    #: Manual journals may debit/credit Accounts Receivable (Xero keeps its control account out).
    journals_may_post_receivable: bool = True
    #: A refund to the original payment is a separate payment against the credit (Xero), rather
    #: than a refund form that credits the bank itself (QBO RefundReceipt).
    refund_by_payment: bool = False
    #: A sales-form line that carries an item books its revenue to the item's own income account
    #: (QBO ``SalesItemLineDetail``); else the line names its account beside the item (Xero).
    tracked_income_from_item: bool = False
    #: The tax code a vendor credit's lines carry so the ledger adds no tax of its own (the credit is
    #: the goods at cost; Xero otherwise applies the item's / account's default purchase tax); used
    #: only when the company has it. None: lines carry no tax code.
    vendor_credit_tax_code: str | None = None

    @property
    def platform(self) -> str:
        """The profile's key, as documents and snapshots record the platform."""
        return self.profile.key

    @property
    def customer_in_one_currency(self) -> bool:
        """A customer record trades in one currency only (QBO): another currency needs another record."""
        return self.profile.customer_single_currency

    # --- facts --------------------------------------------------------------------------------

    def account_label(self, rec: RefRecord) -> str:
        """How the preview names an account of this ledger (with its code where the platform does)."""
        return self.profile.label(rec.code, rec.name)

    def fx_hint(self, enter: str) -> str:
        """Who can supply a missing exchange rate, and how (``enter`` is the CLI command)."""
        name = self.profile.short_name
        if self.profile.publishes_rates:
            return f"an accountant must enter one in {name} (currency settings), or an admin with `{enter}`"
        return f"{name} publishes no exchange rates to apps: an admin must enter the rate with `{enter}`"

    def untaxed_code(self, ctx: RecipeContext, piece: Piece | None) -> str | None:
        """The tax code of a line without tax (``piece`` None: the tax rounding line)."""
        return piece.target.tax_code if piece is not None and piece.target is not None else None

    def check_piece(self, ctx: RecipeContext, piece: Piece) -> None:
        """Raise a problem when the platform cannot carry ``piece`` as mapped (its tracking cap)."""
        tracking = piece.target.tracking if piece.target else ()
        cap = self.profile.max_tracking_categories
        if cap is not None and len(tracking) > cap:
            ctx.problem("too_many_tracking_categories",
                        f"The mapping for {COMPONENT_LABELS[piece.component]} assigns {len(tracking)} tracking "
                        f"categories; {self.profile.short_name} allows {cap} per line: an admin must remove the "
                        "extra ones on the Mappings page.", piece.field)

    def predict_tax(self, ctx: RecipeContext, lines: list[SalesLine]) -> TaxPrediction:
        """The ledger books the RMS's own per-jurisdiction tax (line tax pinned by the client)."""
        by_j: dict[str, list[Decimal]] = {}
        for sl in lines:
            for t in sl.piece.taxes:
                by_j.setdefault(t.jurisdiction, []).append(t.amount.amount)
        return TaxPrediction({j: dsum(v) for j, v in by_j.items()})

    def item_cost(self, snap: ReferenceSnapshot, sku: str, currency: str) -> Money | None:
        """The ledger item's own unit cost for ``sku`` in ``currency``, where the snapshot carries one
        (the goods journal's fallback when the RMS does not know a cost); ``None`` otherwise."""
        return None

    def vendor_credit_payload(self, body: dict[str, Any], fx: FxUse | None) -> dict[str, Any]:
        """The outbox payload of a vendor credit whose entity is ``body`` (the profile's), with the
        exchange rate of a foreign return (``fx``) where the platform takes one."""
        return body

    def negative_total_refusal(self, refund: bool) -> str:
        """The clause saying that the platform refuses a negative sales form."""
        return "the ledger refuses a negative document"

    # --- renderer -----------------------------------------------------------------------------

    def render(self, journal: ReturnJournal) -> list[LedgerDocument]:
        raise NotImplementedError

    def render_summary(self, summary: SummaryJournal) -> LedgerDocument | None:
        raise NotImplementedError

    def render_adjustment(self, journal: tuple[JournalLine, ...], text: str, day: date, currency: str,
                          home_currency: str) -> tuple[str, dict[str, Any]]:
        """An adjusting entry (the Reconciliation page's, already balanced): (document type, payload).

        ``text`` is the memo carrying the idempotency key; ``journal`` names accounts by ledger id.
        """
        raise NotImplementedError


#: Profile key → that platform's recipes.
_REGISTRY: dict[str, LedgerRecipes] = {}


def register(recipes: LedgerRecipes) -> LedgerRecipes:
    """Make ``recipes`` the renderer of its profile's platform."""
    if recipes.profile.key not in PROFILES:
        raise ValueError(f"{type(recipes).__name__} renders for an unknown platform {recipes.profile.key!r}")
    _REGISTRY[recipes.profile.key] = recipes
    return recipes


def _name(platform: object) -> str:
    return str(getattr(platform, "value", platform))


def platform_for(platform: object) -> LedgerRecipes:
    """The recipes registered for a snapshot's ``platform`` (a profile key or the Platform enum);
    an empty one is a snapshot from before the field, whose platform is ``LEGACY_PLATFORM``."""
    name = _name(platform) or LEGACY_PLATFORM.value
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"no recipes for platform {platform!r}") from None
