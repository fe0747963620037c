"""Which ledger connection the app uses for an organization: one rule for sync, mapping, manual
entry and adjusting journals.

An organization may hold several connections (a sandbox and a production company, an old one
disconnected). Every stage — push, pull, planning, mapping, manual entry, reconciliation — uses
the same one: the connected connection that was connected most recently (the person's latest
"Connect"). Where a caller can work without a live connection (cached reference data, a document
queued for later), it falls back to the most recently updated connection of any status.
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
    connected = s.execute(sa.select(LedgerConnection.id).where(
        LedgerConnection.organization_id == org_id, LedgerConnection.status == ConnectionStatus.CONNECTED,
    ).order_by(LedgerConnection.connected_at.desc().nulls_last(), LedgerConnection.id.desc()).limit(1)).scalar()
    if connected is not None or connected_only:
        return connected
    return s.execute(sa.select(LedgerConnection.id).where(LedgerConnection.organization_id == org_id)
                     .order_by(LedgerConnection.updated_at.desc(), LedgerConnection.id.desc()).limit(1)).scalar()


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
    conn_id = org_connection(s, org.id, connected_only=True)
    return org, (s.get(LedgerConnection, conn_id) if conn_id is not None else None)
