"""Which recent returns an edit of the mapping rules would re-route: the editor's live preview.

The Mappings editor shows, before a person saves, the returns whose ledger documents would come
out differently. This reads them (the views never query tables): every context a recent return
resolves (line, fee, tax, refund, clearing) is resolved under the old and the new rules, and a
return is listed when any lands on a different account, item, tax code or tracking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.services.core.domain import OrgSettings
from desktop.services.mapping.model import MappingTarget, MatchContext, Rule
from desktop.services.mapping.resolve import Resolver
from desktop.services.mapping.service import MappingService
from desktop.services.mapping.validate import contexts_for_return
from desktop.services.rms.records import from_row
from desktop.services.store.db import Database
from desktop.services.store.models import Return, ReturnSyncStatus

__all__ = ["ImpactedReturn", "MappingImpact", "ReturnRevision", "TargetChange", "same_target"]


@dataclass(frozen=True)
class TargetChange:
    """One context of a return that resolves differently: where it went, where it would go."""

    context: MatchContext
    before: MappingTarget | None
    after: MappingTarget | None


@dataclass(frozen=True)
class ReturnRevision:
    """How an impact list names a return: which revision of which RMA, its sync status, when it
    last changed and its currency (the service's and the editor's lists show the same facts)."""

    rma: str
    rms_id: str
    revision: int
    status: str
    updated_at: datetime
    currency: str


@dataclass(frozen=True)
class ImpactedReturn(ReturnRevision):
    """One recent return whose documents would come out differently, and which contexts move."""

    changes: tuple[TargetChange, ...]


def same_target(a: MappingTarget | None, b: MappingTarget | None) -> bool:
    """True when both post to the same account, item, tax code and tracking."""
    def key(t: MappingTarget | None) -> tuple[object, ...] | None:
        return None if t is None else (t.account_id, t.item_id, t.tax_code, t.tracking)
    return key(a) == key(b)


class MappingImpact:
    """Reads recent returns and compares how two rule sets resolve them (call it off the GUI thread)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def recent(self, org: str, old_rules: Sequence[Rule], new_rules: Sequence[Rule],
               account_codes: Mapping[str, str | None] | None = None, *,
               limit: int = 500) -> tuple[int, list[ImpactedReturn]]:
        """How many recent returns were checked, and those whose ledger documents would change.

        Superseded revisions are skipped; returns already posted are listed too (their ledger
        documents stay as posted, but a re-post or reconciliation would differ). A placeholder of a
        return quarantined at ingest has nothing to resolve and is not counted.
        """
        old = Resolver(old_rules, account_codes=account_codes)
        new = Resolver(new_rules, account_codes=account_codes)
        with self._db.session() as session:
            o = MappingService._org(session, org)
            settings = OrgSettings.from_json(o.settings)
            rows = session.execute(
                sa.select(Return).where(Return.organization_id == o.id,
                                        Return.sync_status != ReturnSyncStatus.SUPERSEDED)
                .order_by(Return.rms_updated_at.desc(), Return.id.desc()).limit(limit)
                .options(selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))
            ).scalars().all()
            checked = 0
            out: list[ImpactedReturn] = []
            for row in rows:
                try:
                    record = from_row(row)
                except ValueError:
                    continue
                checked += 1
                changes = []
                for ctx in dict.fromkeys(contexts_for_return(record, settings)):
                    before, after = old.resolve(ctx), new.resolve(ctx)
                    if not same_target(before, after):
                        changes.append(TargetChange(ctx, before, after))
                if changes:
                    out.append(ImpactedReturn(row.rma_number, row.rms_id, row.revision, row.sync_status.value,
                                              row.rms_updated_at, row.currency, tuple(changes)))
        return checked, out
