"""The per-return audit pack: everything an auditor needs to follow one return into the books.

RMS record → mapping version → payload sent → ledger response → reconciliation status, as one
JSON document (``build`` then ``write``). Qt-free so the CLI, the view and tests share it.

The outbox row does not record which mapping version built it, so the pack names the version that
was *active when the document was queued* (the newest set of that organization created at or
before the row) and says so in ``mapping.basis``. Tokens never reach the pack: it is built from the
database only (payloads, ledger ids, event messages), none of which hold credentials.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.exact_json import dumps
from desktop.services.core.money import Money
from desktop.services.core.progress import write_file
from desktop.services.store.db import Database
from desktop.services.store.models import (
    EventLog,
    MappingSet,
    Organization,
    OutboxDocument,
    ReconciliationRun,
    Return,
    Variance,
)

__all__ = ["build", "write"]

PACK_VERSION = 1


def _minor(minor: int | None, currency: str | None) -> str | None:
    """Minor units as an exact decimal string in the currency's own precision."""
    if minor is None:
        return None
    if not currency:
        return format(Decimal(minor) / 100, ".2f")
    return f"{Money.from_minor_units(minor, currency).amount:f} {currency}"


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def build(db: Database, org: str, rma: str) -> dict[str, Any]:
    """The audit pack of return ``rma`` (every stored revision) of organization ``org``."""
    with db.session() as s:
        o = s.scalars(sa.select(Organization).where(Organization.code == org)).one_or_none()
        if o is None:
            raise NeedsPersonError(f"No organization {org}")
        returns = list(s.scalars(sa.select(Return).where(Return.organization_id == o.id, Return.rma_number == rma)
                                 .order_by(Return.revision)))
        ids = [r.id for r in returns]
        docs = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.return_id.in_(ids))
                              .order_by(OutboxDocument.id))) if ids else []
        sets = list(s.scalars(sa.select(MappingSet).where(MappingSet.organization_id == o.id)
                              .order_by(MappingSet.created_at, MappingSet.version)))
        keys = [d.idempotency_key for d in docs]
        events = list(s.scalars(sa.select(EventLog).where(sa.or_(
            EventLog.document_key.in_(keys) if keys else sa.false(),
            sa.and_(EventLog.org == org, EventLog.rma == rma))).order_by(EventLog.occurred_at, EventLog.id)))
        variances = list(s.scalars(sa.select(Variance).join(ReconciliationRun).where(
            ReconciliationRun.organization_id == o.id, Variance.rma == rma).order_by(Variance.id)))
        if not returns and not variances:
            raise NeedsPersonError(f"{org} has no return {rma}", action="check the RMA number")

        def mapping_for(doc: OutboxDocument) -> dict[str, Any]:
            before = [m for m in sets if m.created_at <= doc.created_at]
            chosen = before[-1] if before else None
            return {"version": chosen.version if chosen else None,
                    "created_by": chosen.created_by if chosen else None,
                    "created_at": _iso(chosen.created_at) if chosen else None,
                    "basis": "newest mapping set created at or before the document was queued"}

        return {
            "pack_version": PACK_VERSION, "org": org, "rma": rma,
            "rms_record": [{"rms_id": r.rms_id, "revision": r.revision, "customer": r.customer_name,
                            "currency": r.currency, "refund_total": _minor(r.refund_total_minor, r.currency),
                            "rms_status": r.rms_status, "sync_status": str(r.sync_status.value),
                            "rms_updated_at": _iso(r.rms_updated_at), "raw": r.raw_payload} for r in returns],
            "documents": [{
                "key": d.idempotency_key, "role": d.role, "doc_type": d.doc_type, "txn_date": _iso(d.txn_date),
                "total": _minor(d.total_minor, d.currency), "mapping": mapping_for(d),
                "payload_sent": d.payload,
                "ledger_response": {"status": d.status.value, "remote_id": d.remote_id, "number": d.remote_number,
                                    "sync_token": d.sync_token, "remote_state": d.remote_state,
                                    "posted_at": _iso(d.posted_at), "last_error": d.last_error},
                "events": [{"at": _iso(e.occurred_at), "kind": e.kind, "severity": e.severity, "message": e.message,
                            "platform_code": e.platform_code} for e in events if e.document_key == d.idempotency_key],
            } for d in docs],
            "reconciliation": [{"variance_id": v.id, "run_id": v.run_id, "class": v.variance_class,
                                "ledger_id": v.ledger_id, "difference": _minor(v.difference_minor, v.currency),
                                "status": v.status.value, "note": v.note, "resolved_by": v.resolved_by,
                                "resolved_at": _iso(v.resolved_at),
                                "fields": {k: val for k, val in (v.fields or {}).items() if k != "_doc"}}
                               for v in variances],
            "status": ("open variances" if any(v.status.value == "open" for v in variances)
                       else "reconciled" if docs else "nothing posted"),
        }


def write(pack: dict[str, Any], path: Path) -> Path:
    """Write the pack as JSON; payload amounts stay exact numbers (``exact_json``, never float)."""
    return write_file(path, dumps(pack), what="audit pack")
