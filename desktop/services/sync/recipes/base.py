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

Platforms register themselves at import (``recipes/__init__`` imports them); callers do one
:func:`platform_for` look-up on the snapshot's platform instead of branching on its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from desktop.services.ledgers.base import RefRecord
from desktop.services.sync.recipes.arith import dsum

if TYPE_CHECKING:
    from desktop.services.sync.documents import LedgerDocument
    from desktop.services.sync.recipes.common import Ctx, Piece
    from desktop.services.sync.recipes.journal import ReturnJournal, SalesLine, SummaryJournal


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


class LedgerRecipes:
    """One platform's facts and renderer. Subclasses set ``platform`` and implement ``render*``."""

    platform: str = ""
    #: Manual journals may debit/credit Accounts Receivable (Xero keeps its control account out).
    journals_may_post_receivable: bool = True
    #: A refund to the original payment is a separate payment against the credit (Xero), rather
    #: than a refund form that credits the bank itself (QBO RefundReceipt).
    refund_by_payment: bool = False
    #: A customer record trades in one currency only (QBO): another currency needs another record.
    customer_in_one_currency: bool = False

    # --- facts --------------------------------------------------------------------------------

    def account_label(self, rec: RefRecord) -> str:
        """How the preview names an account of this ledger."""
        return rec.name

    def fx_hint(self, enter: str) -> str:
        """Who can supply a missing exchange rate, and how (``enter`` is the CLI command)."""
        return f"an admin must enter the rate with `{enter}`"

    def untaxed_code(self, ctx: Ctx, piece: Piece | None) -> str | None:
        """The tax code of a line without tax (``piece`` None: the tax rounding line)."""
        return piece.target.tax_code if piece is not None and piece.target is not None else None

    def check_piece(self, ctx: Ctx, piece: Piece) -> None:
        """Raise a problem when the platform cannot carry ``piece`` as mapped (default: it can)."""

    def predict_tax(self, ctx: Ctx, lines: list[SalesLine]) -> TaxPrediction:
        """The ledger books the RMS's own per-jurisdiction tax (line tax pinned by the client)."""
        by_j: dict[str, list[Decimal]] = {}
        for sl in lines:
            for t in sl.piece.taxes:
                by_j.setdefault(t.jurisdiction, []).append(t.amount.amount)
        return TaxPrediction({j: dsum(v) for j, v in by_j.items()})

    def negative_total_refusal(self, refund: bool) -> str:
        """The clause saying that the platform refuses a negative sales form."""
        return "the ledger refuses a negative document"

    # --- renderer -----------------------------------------------------------------------------

    def render(self, journal: ReturnJournal) -> list[LedgerDocument]:
        raise NotImplementedError

    def render_summary(self, summary: SummaryJournal) -> LedgerDocument | None:
        raise NotImplementedError


_REGISTRY: dict[str, LedgerRecipes] = {}
_ALIASES: dict[str, str] = {}


def register(recipes: LedgerRecipes, *aliases: str) -> LedgerRecipes:
    """Make ``recipes`` the platform for its name (and ``aliases``, e.g. ``""`` for a snapshot
    that predates the platform field, which was always QuickBooks)."""
    _REGISTRY[recipes.platform] = recipes
    for alias in aliases:
        _ALIASES[alias] = recipes.platform
    return recipes


def _name(platform: object) -> str:
    return str(getattr(platform, "value", platform))


def platform_for(platform: object) -> LedgerRecipes:
    """The platform registered for a snapshot's ``platform`` (a string or a str enum, or an alias)."""
    name = _name(platform)
    try:
        return _REGISTRY[_ALIASES.get(name, name)]
    except KeyError:
        raise ValueError(f"no recipes for platform {platform!r}") from None


def registered(platform: object) -> LedgerRecipes | None:
    """The platform registered under exactly this name (no alias), or None."""
    return _REGISTRY.get(_name(platform))
