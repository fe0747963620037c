"""Posting recipes: a return (or a day of returns) → ledger documents, purely (DESIGN.md §5).

Two halves, so a rule about amounts, tax or rounding is written once:

- ``journal.py`` builds the platform-neutral economic journal of a return (``summary.py`` the
  netted journal of a day), asking the platform only for *facts* (``base.LedgerRecipes``);
  ``arith.py`` holds the money rules, ``common.py`` the mapping look-ups.
- ``qbo.py`` / ``xero.py`` render that journal into their payloads and register themselves;
  :func:`build_documents` looks the snapshot's platform up once in that registry.

Both entry points return ``(documents, problems)``.
"""

from __future__ import annotations

from desktop.services.core.domain import OrgSettings, Problem, ReturnRecord
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.recipes import qbo, xero
from desktop.services.pipeline.recipes.base import LedgerRecipes, platform_for
from desktop.services.pipeline.recipes.common import Ctx, resolve_customer
from desktop.services.pipeline.recipes.journal import build_return_journal
from desktop.services.pipeline.recipes.shapes import ReturnJournal
from desktop.services.pipeline.recipes.summary import summary_documents
from desktop.services.pipeline.recipes.vendor_credit import vendor_credit_documents

__all__ = ["LedgerRecipes", "ReturnJournal", "build_documents", "build_return_journal", "platform_for",
           "resolve_customer", "summary_documents"]

_PLATFORMS = (qbo.QboRecipes, xero.XeroRecipes)  # imported for their registration


def build_documents(ret: ReturnRecord, resolver: Resolver, snapshot: ReferenceSnapshot, settings: OrgSettings,
                    rates: FxRates | None, *, tz: str | None = None) -> tuple[list[LedgerDocument], list[Problem]]:
    """The per-return documents of ``ret`` for the snapshot's platform: the economic journal,
    built once, rendered by the platform registered for ``snapshot.platform``."""
    ctx = Ctx(ret, resolver, snapshot, settings, rates, tz or str(settings.extra.get("timezone") or "UTC"))
    journal = build_return_journal(ctx)
    docs = ctx.platform.render(journal) + vendor_credit_documents(ctx, journal)
    return docs, ctx.problems
