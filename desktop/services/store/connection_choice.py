"""Which ledger connection the app uses for an organization: one rule for sync, mapping, manual
entry and adjusting journals.

An organization may hold several connections (a sandbox and a production company, an old one
disconnected). The app uses the connected one, the most recently updated if several; where a
caller can work without a live connection (cached reference data, a document queued for later),
it falls back to the most recently updated connection of any status (:func:`org_connection`).
Reading the ledger back (pull, reconciliation) looks the organization up by its code and takes
its most recently *connected* connection (:func:`connected_org`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.core.enums import ConnectionStatus
from desktop.services.core.errors import NeedsPersonError
from desktop.services.store.models import LedgerConnection, Organization

__all__ = ["connected_org", "org_connection"]


def org_connection(s: Session, org_id: int, *, connected_only: bool = False) -> int | None:
    """The id of the organization's connected connection (newest first); else, unless
    ``connected_only``, of its newest connection of any status; None when there is none."""
    rows = s.execute(sa.select(LedgerConnection.id, LedgerConnection.status)
                     .where(LedgerConnection.organization_id == org_id)
                     .order_by(LedgerConnection.updated_at.desc(), LedgerConnection.id.desc())).all()
    connected = [i for i, status in rows if status == ConnectionStatus.CONNECTED]
    ids: list[int] = connected if connected or connected_only else [i for i, _ in rows]
    return ids[0] if ids else None


def connected_org(s: Session, org_code: str) -> tuple[Organization, LedgerConnection | None]:
    """The organization ``org_code`` and its connected connection, the most recently connected first
    (None when it has none).

    Raises:
        NeedsPersonError: there is no organization ``org_code``.
    """
    org = s.execute(sa.select(Organization).where(Organization.code == org_code)).scalar()
    if org is None:
        raise NeedsPersonError(f"Organization {org_code!r} is not set up in this app",
                               action="connect its ledger first")
    conn = s.execute(sa.select(LedgerConnection).where(
        LedgerConnection.organization_id == org.id, LedgerConnection.status == ConnectionStatus.CONNECTED,
    ).order_by(LedgerConnection.connected_at.desc(), LedgerConnection.id.desc())).scalars().first()
    return org, conn
