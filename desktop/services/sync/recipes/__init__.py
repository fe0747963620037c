"""Posting recipes: a return (or a day of returns) → ledger documents, purely (DESIGN.md §5).

:func:`build_documents` picks the platform's per-return recipe from the snapshot;
:func:`summary_documents` is daily-summary mode. Both return ``(documents, problems)``.
"""

from __future__ import annotations

from desktop.services.domain import OrgSettings, Problem, ReturnRecord
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.sync.documents import LedgerDocument
from desktop.services.sync.fx import FxRates
from desktop.services.sync.recipes.common import resolve_customer
from desktop.services.sync.recipes.qbo import qbo_documents
from desktop.services.sync.recipes.summary import summary_documents
from desktop.services.sync.recipes.xero import xero_documents

__all__ = ["build_documents", "qbo_documents", "resolve_customer", "summary_documents", "xero_documents"]


def build_documents(ret: ReturnRecord, resolver: Resolver, snapshot: ReferenceSnapshot, settings: OrgSettings,
                    rates: FxRates | None, *, tz: str | None = None) -> tuple[list[LedgerDocument], list[Problem]]:
    """The per-return documents of ``ret`` for the snapshot's platform."""
    if snapshot.platform == "xero":
        return xero_documents(ret, resolver, snapshot, settings, rates, tz=tz)
    if snapshot.platform in ("qbo", ""):
        return qbo_documents(ret, resolver, snapshot, settings, rates, tz=tz)
    raise ValueError(f"no recipes for platform {snapshot.platform!r}")
