"""Bulk inserts of new return revisions: a batch of returns, lines, fees and tax lines in a few statements.

Ingest (:mod:`desktop.services.rms.ingest`) decides *what* is written — new, unchanged, replaced,
conflicting, quarantined — and this module only writes the new revisions it hands over, as
:class:`~desktop.services.rms.records.RowValues`, with Core ``INSERT … ON CONFLICT DO NOTHING …
RETURNING`` executed for many rows at once (SQLAlchemy's "insertmanyvalues": a few multi-row
statements per batch on SQLite and PostgreSQL alike) instead of one ORM object per row:

1. the ``returns`` rows, returning each new id by its (RMS id, revision) key. A key that comes back
   without an id was taken by another pull or import of the same organization between ingest's
   look-up and this insert: :class:`KeyTaken` is raised and the caller's transaction rolls back;
2. the lines, returning their ids by (return id, line number);
3. the fees, the tax lines (fee taxes and line taxes), and the quarantine reasons, by those ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from desktop.services.rms.records import RowValues
from desktop.services.store.models import QuarantineReason, Return, ReturnFee, ReturnTaxLine
from desktop.services.store.models import ReturnLine as LineRow

__all__ = ["KeyTaken", "insert_new", "insert_reasons"]


class KeyTaken(Exception):
    """A (organization, RMS id, revision) key was written by someone else during this batch."""


def _insert(session: Session, model: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT on ``model``'s table as Core sees it: executed on the session's connection, many rows
    go straight to the driver without the ORM's per-row bulk bookkeeping (the rows are plain dicts)."""
    dialect = session.get_bind().dialect.name
    table = model.__table__
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def _execute(session: Session, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> Any:
    return session.connection().execute(stmt, rows)


def insert_new(session: Session, rows: Sequence[RowValues]) -> dict[tuple[str, int], int]:
    """Insert ``rows`` (new revisions: no row of their keys exists) and their children; their ids by key."""
    if not rows:
        return {}
    stmt = (_insert(session, Return).on_conflict_do_nothing(
        index_elements=["organization_id", "rms_id", "revision"])
        .returning(Return.__table__.c.id, Return.__table__.c.rms_id, Return.__table__.c.revision))
    ids = {(rms_id, revision): rid for rid, rms_id, revision in _execute(session, stmt, [r.ret for r in rows])}
    if len(ids) != len(rows):
        raise KeyTaken(f"{len(rows) - len(ids)} of {len(rows)} return revisions were written meanwhile")
    lines: list[dict[str, Any]] = []
    fees: list[dict[str, Any]] = []
    taxes: list[dict[str, Any]] = []
    for r in rows:
        rid = ids[r.key]
        lines.extend({**line, "return_id": rid} for line in r.lines)
        fees.extend({**fee, "return_id": rid} for fee in r.fees)
        taxes.extend({**tax, "return_id": rid, "return_line_id": None} for tax in r.fee_taxes)
    if lines:
        table = LineRow.__table__.c
        line_ids = {(return_id, line_no): lid for lid, return_id, line_no in _execute(
            session, _insert(session, LineRow).returning(table.id, table.return_id, table.line_no), lines)}
        for r in rows:
            rid = ids[r.key]
            for line, line_taxes in zip(r.lines, r.line_taxes, strict=True):
                lid = line_ids[(rid, line["line_no"])]
                taxes.extend({**tax, "return_id": rid, "return_line_id": lid} for tax in line_taxes)
    if fees:
        _execute(session, _insert(session, ReturnFee), fees)
    if taxes:
        _execute(session, _insert(session, ReturnTaxLine), taxes)
    return ids


def insert_reasons(session: Session, reasons: Sequence[Mapping[str, Any]]) -> None:
    """Insert quarantine reasons (every ``quarantine_reasons`` column but ``id``)."""
    if reasons:
        _execute(session, _insert(session, QuarantineReason), list(reasons))
