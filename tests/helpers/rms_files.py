"""RMS export files for import tests: an organization with its RMS profile, and N returns as CSV or JSON.

Every ``damaged``-th return (1-based) has a malformed unit price, so it is quarantined with
``malformed_amount``; the others are valid. Files are written return by return.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from desktop.services.rms.context import PROFILE_KEY, Jurisdiction, OrgContext
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, QuarantineReason, Return, ReturnSyncStatus
from desktop.services.store.testing import make_org

__all__ = ["ORG", "held", "make_import_org", "write_export"]

ORG = "ACME-US"
_CTX = OrgContext(ORG, ("USD",), {"US-WA": Jurisdiction("US-WA", "Washington", Decimal("0.065"))},
                  home_currency="USD", name="Acme Outdoor Supply Inc.", timezone="America/Los_Angeles")
_HEADER = ["id", "rma_number", "revision", "organization", "customer_id", "customer_name", "customer_email",
           "channel", "warehouse", "currency", "created_at", "updated_at", "refund_method", "status",
           "refund_total", "line_id", "sku", "description", "quantity", "unit_price", "reason_code",
           "disposition", "tax_US-WA"]


def make_import_org(db: Database, code: str = ORG) -> None:
    """Organization ``code`` with the RMS profile file import validates against."""
    with db.write_session() as s:
        make_org(s, code=code).settings = {PROFILE_KEY: {**_CTX.to_profile(), "code": code}}


def _record(n: int, damaged: int) -> dict[str, Any]:
    price = "12.3.4" if damaged and n % damaged == 0 else "189.00"
    return {
        "id": f"ret_{n:06d}", "rma_number": f"RMA-ACME-{600000 + n}", "revision": 1, "organization": ORG,
        "customer": {"id": "cus_200", "name": "Sophia Lee", "email": "sophia.lee@example.com"},
        "channel": "web", "warehouse": "WH-RENO", "currency": "USD", "created_at": "2026-11-24T12:00:00.000Z",
        "updated_at": "2026-11-24T12:00:00.000Z", "refund_method": "original_payment", "status": "refunded",
        "lines": [{"line_id": "ln_1", "sku": "ACM-PACK-45L", "description": "Ascent 45 L backpack", "quantity": 1,
                   "unit_price": price, "reason_code": "SIZE_FIT", "disposition": "RESTOCK",
                   "tax": [{"jurisdiction": "US-WA", "rate": "0.065", "amount": "12.29"}]}],
        "fees": [], "refund_total": "201.29"}


def write_export(path: Path, count: int, *, damaged: int = 0, order: list[int] | None = None) -> Path:
    """``count`` returns (numbered 1…count, or in ``order``) as ``path`` (.csv or .json, by suffix)."""
    numbers = order if order is not None else list(range(1, count + 1))
    with path.open("w", encoding="utf-8", newline="") as fh:
        if path.suffix == ".json":
            fh.write('{"returns": [\n')
            for i, n in enumerate(numbers):
                fh.write(("," if i else "") + json.dumps(_record(n, damaged)) + "\n")
            fh.write("]}\n")
            return path
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(_HEADER)
        for n in numbers:
            r = _record(n, damaged)
            line = r["lines"][0]
            writer.writerow([r["id"], r["rma_number"], r["revision"], r["organization"], r["customer"]["id"],
                             r["customer"]["name"], r["customer"]["email"], r["channel"], r["warehouse"],
                             r["currency"], r["created_at"], r["updated_at"], r["refund_method"], r["status"],
                             r["refund_total"], line["line_id"], line["sku"], line["description"], line["quantity"],
                             line["unit_price"], line["reason_code"], line["disposition"],
                             line["tax"][0]["amount"]])
    return path


def held(db: Database, org: str = ORG) -> dict[str, int]:
    """What the database holds for ``org``: revisions, quarantined ones, those with a reason, reasons."""
    with db.session() as s:
        where = sa.select(Return.id).join(Organization).where(Organization.code == org).scalar_subquery()
        rows = s.scalar(sa.select(sa.func.count()).select_from(Return).where(Return.id.in_(where))) or 0
        quarantined = s.scalar(sa.select(sa.func.count()).select_from(Return).where(
            Return.id.in_(where), Return.sync_status == ReturnSyncStatus.QUARANTINED)) or 0
        with_reason = s.scalar(sa.select(sa.func.count(sa.distinct(QuarantineReason.return_id))).where(
            QuarantineReason.return_id.in_(where))) or 0
    return {"rows": rows, "quarantined": quarantined, "with_reason": with_reason}
