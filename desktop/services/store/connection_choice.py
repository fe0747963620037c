"""Which ledger connection the app uses for an organization: one rule for sync, mapping, manual
entry and adjusting journals.

An organization may hold several connections (a sandbox and a production company, an old one
disconnected). The app uses the connected one, the most recently updated if several; where a
caller can work without a live connection (cached reference data, a document queued for later),
it falls back to the most recently updated connection of any status.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.core.enums import ConnectionStatus
from desktop.services.store.models import LedgerConnection

__all__ = ["org_connection"]


def org_connection(s: Session, org_id: int, *, connected_only: bool = False) -> int | None:
    """The id of the organization's connected connection (newest first); else, unless
    ``connected_only``, of its newest connection of any status; None when there is none."""
    rows = s.execute(sa.select(LedgerConnection.id, LedgerConnection.status)
                     .where(LedgerConnection.organization_id == org_id)
                     .order_by(LedgerConnection.updated_at.desc(), LedgerConnection.id.desc())).all()
    connected = [i for i, status in rows if status == ConnectionStatus.CONNECTED]
    ids: list[int] = connected if connected or connected_only else [i for i, _ in rows]
    return ids[0] if ids else None
