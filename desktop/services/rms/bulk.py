"""Bulk inserts of new return revisions: a batch of returns, lines, fees and tax lines in a few statements.

Ingest (:mod:`desktop.services.rms.ingest`) decides *what* is written — new, unchanged, replaced,
conflicting, quarantined — and this module only writes the new revisions it hands over, as
:class:`~desktop.services.rms.records.RowValues`. It goes straight to the driver with prebuilt tuples
(:class:`~desktop.services.store.bulk_insert.BulkWriter`: no ORM objects, no per-row statement
compilation, values bound by each column's own processor), one table at a time:

1. the ``returns`` rows, as multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING`` statements
   (the same SQL on SQLite and PostgreSQL), each new id by its (RMS id, revision) key. A key that
   comes back without an id was taken by another pull or import of the same organization between
   ingest's look-up and this insert: :class:`KeyTaken` is raised and the caller's transaction rolls back;
2. the lines, likewise returning their ids by (return id, line number);
3. the fees, the tax lines (fee taxes, then line taxes) and the quarantine reasons by ``executemany``.

Which columns a table's rows carry is read from the rows themselves, so a new column is a new key
in :mod:`desktop.services.rms.records` and nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from desktop.services.core.exact_json import EncodedJSON
from desktop.services.rms.records import RowValues
from desktop.services.store.bulk_insert import BulkWriter, row_keys
from desktop.services.store.models import QuarantineReason, Return, ReturnFee, ReturnTaxLine
from desktop.services.store.models import ReturnLine as LineRow

__all__ = ["KeyTaken", "insert_new", "insert_reasons"]


class KeyTaken(Exception):
    """A (organization, RMS id, revision) key was written by someone else during this batch."""


def insert_new(session: Session, rows: Sequence[RowValues]) -> dict[tuple[str, int], int]:
    """Insert ``rows`` (new revisions: no row of their keys exists) and their children; their ids by key."""
    if not rows:
        return {}
    with BulkWriter(session) as writer:
        # A payload encoded already is bound as its text (no second walk, no second encoding).
        rets = [r.ret if r.raw_json is None else {**r.ret, "raw_payload": EncodedJSON(r.raw_json)} for r in rows]
        shape = writer.shape(Return, row_keys(rets))
        ids = {(rms_id, revision): rid for rid, rms_id, revision in writer.returning(
            shape, shape.tuples(rets),
            " ON CONFLICT (organization_id, rms_id, revision) DO NOTHING RETURNING id, rms_id, revision")}
        if len(ids) != len(rows):
            raise KeyTaken(f"{len(rows) - len(ids)} of {len(rows)} return revisions were written meanwhile")
        rids = [ids[r.key] for r in rows]
        lines = [line for r in rows for line in r.lines]
        line_rids = [(rid,) for r, rid in zip(rows, rids, strict=True) for _line in r.lines]
        fees = [fee for r in rows for fee in r.fees]
        fee_rids = [(rid,) for r, rid in zip(rows, rids, strict=True) for _fee in r.fees]
        taxes = [tax for r in rows for tax in r.fee_taxes]
        tax_lead: list[tuple[Any, ...]] = [(rid, None) for r, rid in zip(rows, rids, strict=True)
                                           for _tax in r.fee_taxes]
        if lines:
            shape = writer.shape(LineRow, row_keys(lines), ("return_id",))
            line_ids = {(return_id, line_no): lid for lid, return_id, line_no in writer.returning(
                shape, shape.tuples(lines, line_rids), " RETURNING id, return_id, line_no")}
            for r, rid in zip(rows, rids, strict=True):
                for line, line_taxes in zip(r.lines, r.line_taxes, strict=True):
                    lid = line_ids[(rid, line["line_no"])]
                    taxes.extend(line_taxes)
                    tax_lead.extend((rid, lid) for _tax in line_taxes)
        if fees:
            shape = writer.shape(ReturnFee, row_keys(fees), ("return_id",))
            writer.many(shape, shape.tuples(fees, fee_rids))
        if taxes:
            shape = writer.shape(ReturnTaxLine, row_keys(taxes), ("return_id", "return_line_id"))
            writer.many(shape, shape.tuples(taxes, tax_lead))
        return ids


def insert_reasons(session: Session, reasons: Sequence[Mapping[str, Any]]) -> None:
    """Insert quarantine reasons (every ``quarantine_reasons`` column but ``id``)."""
    if reasons:
        with BulkWriter(session) as writer:
            shape = writer.shape(QuarantineReason, row_keys(reasons))
            writer.many(shape, shape.tuples(reasons))
