"""Import an RMS export file (JSON or CSV) through the very same validation and upsert as a pull.

Formats (documented for users in ``docs/rms-file-import.md``):

- **JSON**: a list of ``Return`` objects as ``docs/rms-api.yaml`` defines them, or
  ``{"returns": [...]}``. Each object is ingested as it is; its raw payload is kept verbatim.
- **CSV**: one row per return line, the return's own fields repeated on each of its rows; fees
  either as columns (``restocking_fee``, ``return_shipping_charged``, ``label_cost``,
  ``outbound_shipping_refunded``, with ``<fee>_tax_<JURISDICTION>`` for a taxed fee) or as extra
  rows with a ``fee_type`` and a ``fee_amount``; tax as ``tax_<JURISDICTION>`` amount columns
  (rate from an optional ``tax_rate_<JURISDICTION>`` column, else the organization's published
  rate). Rows are grouped into returns by (``id``, ``revision``) and rebuilt into the API's JSON
  shape — cell text kept as text, so amounts never pass through a float — and that object is
  what gets validated and kept as the raw payload.

Every problem message names the file and its row (or record) number, so the person fixing it can
go straight there; return-level fields that differ between rows of one return are problems too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from desktop.services.auth.roles import Action, Actor
from desktop.services.core.domain import Problem
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.safe_input import RMS_FILE_LIMIT, load_json, read_capped
from desktop.services.rms.context import OrgContext
from desktop.services.rms.ingest import Incoming, IngestResult, IngestService
from desktop.services.rms.parse import FILE_FIX

__all__ = ["import_file", "read_csv", "read_json", "read_records"]

RETURN_COLUMNS = ("id", "rma_number", "revision", "organization", "customer_id", "customer_name",
                  "customer_email", "channel", "warehouse", "currency", "created_at", "updated_at",
                  "refund_method", "status", "refund_total")
LINE_COLUMNS = ("line_id", "sku", "description", "quantity", "unit_price", "reason_code", "disposition")
FEE_COLUMNS = ("restocking_fee", "return_shipping_charged", "label_cost", "outbound_shipping_refunded")
REQUIRED_COLUMNS = ("id", "currency", "unit_price")
_CUSTOMER = {"customer_id": "id", "customer_name": "name", "customer_email": "email"}


def import_file(service: IngestService, path: Path, org_code: str, actor: Actor, *,
                stopped: Callable[[int], None] | None = None) -> IngestResult:
    """Read ``path`` and ingest its records into ``org_code`` (validated against its RMS profile).

    Importing feeds the sync like a pull does, so ``actor`` must be allowed to ``run_sync``.
    ``stopped(records)`` is told, before the error propagates, when ingesting fails part-way
    (each batch is its own transaction: what committed stays, and a re-run skips it).
    """
    actor.require(Action.RUN_SYNC)
    ctx = service.context_for(org_code)
    items = read_records(path, ctx)
    try:
        return service.ingest(org_code, items, ctx=ctx, fix=FILE_FIX, source=f"file:{path.name}")
    except BaseException:
        if stopped is not None:
            stopped(len(items))
        raise


def read_records(path: Path, ctx: OrgContext) -> list[Incoming]:
    """The records of a JSON or CSV export (by extension, else by the first character)."""
    data = read_capped(path, RMS_FILE_LIMIT)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NeedsPersonError(f"{path.name} is not UTF-8 text", action="export the file as UTF-8") from exc
    suffix = path.suffix.lower()
    if suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in ("[", "{")):
        return read_json(text, path.name)
    return read_csv(text, ctx, path.name)


def _prefixed(where: str) -> Callable[[Problem], Problem]:
    def annotate(problem: Problem) -> Problem:
        return replace(problem, message=f"{where}: {problem.message}")
    return annotate


def read_json(text: str, name: str) -> list[Incoming]:
    """A JSON export: a list of returns, or an object with a ``returns`` list."""
    data = load_json(text, name=name)
    if isinstance(data, Mapping) and isinstance(data.get("returns"), list):
        data = data["returns"]
    if not isinstance(data, list):
        raise NeedsPersonError(f"{name} holds neither a list of returns nor an object with a \"returns\" list",
                               action="export the returns as a JSON list")
    return [Incoming(raw=item, annotate=_prefixed(f"{name} record {i + 1}")) for i, item in enumerate(data)]


@dataclass
class _Columns:
    """What the CSV header says, once: where each kind of value is."""

    tax: dict[str, str] = field(default_factory=dict)       # jurisdiction → amount column
    tax_rate: dict[str, str] = field(default_factory=dict)  # jurisdiction → rate column
    fee_tax: dict[str, dict[str, str]] = field(default_factory=dict)  # fee → jurisdiction → column

    @classmethod
    def from_header(cls, header: Sequence[str]) -> _Columns:
        cols = cls()
        for col in header:
            low = col.lower()
            for fee in FEE_COLUMNS:
                if low.startswith(f"{fee}_tax_"):
                    cols.fee_tax.setdefault(fee, {})[col[len(fee) + 5:]] = col
                    break
            else:
                if low.startswith("tax_rate_"):
                    cols.tax_rate[col[9:]] = col
                elif low.startswith("tax_"):
                    cols.tax[col[4:]] = col
        return cols


def _norm_header(header: Sequence[str]) -> list[str]:
    """Fixed column names are case-insensitive; a jurisdiction code inside one keeps its case."""
    out = []
    for col in header:
        col = col.strip()
        low = col.lower()
        if low in RETURN_COLUMNS or low in LINE_COLUMNS or low in FEE_COLUMNS or low in ("fee_type", "fee_amount"):
            col = low
        else:
            for prefix in ("tax_rate_", "tax_", *(f"{fee}_tax_" for fee in FEE_COLUMNS)):
                if low.startswith(prefix):
                    col = prefix + col[len(prefix):]
                    break
        out.append(col)
    return out


def read_csv(text: str, ctx: OrgContext, name: str) -> list[Incoming]:
    """A CSV export (see the module docstring); rows grouped into returns by (id, revision)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _norm_header(next(reader))
    except StopIteration:
        raise NeedsPersonError(f"{name} is empty", action="export the returns again") from None
    except csv.Error as exc:
        raise NeedsPersonError(f"{name} is not a readable CSV file ({exc})", action="export it again") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise NeedsPersonError(f"{name} does not look like an RMS returns export: no column {', '.join(missing)}",
                               action="see docs/rms-file-import.md for the columns the import reads")
    cols = _Columns.from_header(header)
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, str]]]] = {}
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            row = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
            key = (row["id"], row.get("revision", "")) if row["id"] else ("", str(number))
            groups.setdefault(key, []).append((number, row))
    except csv.Error as exc:
        raise NeedsPersonError(f"{name} row {reader.line_num}: not readable CSV ({exc})",
                               action="fix the quoting on that row and import again") from exc
    return [_group(name, rows, cols, ctx) for rows in groups.values()]


def _taxes(row: Mapping[str, str], amount_cols: Mapping[str, str], cols: _Columns,
           ctx: OrgContext) -> list[dict[str, str]]:
    out = []
    for code, col in amount_cols.items():
        amount = row.get(col, "")
        if not amount:
            continue
        entry = {"jurisdiction": code, "amount": amount}
        rate = row.get(cols.tax_rate.get(code, ""), "")
        if not rate and code in ctx.jurisdictions:
            rate = format(ctx.jurisdictions[code].rate, "f")
        if rate:
            entry["rate"] = rate
        out.append(entry)
    return out


def _group(name: str, rows: list[tuple[int, dict[str, str]]], cols: _Columns, ctx: OrgContext) -> Incoming:
    first_no, first = rows[0]
    extra: list[Problem] = []
    conflicts: dict[str, dict[str, str]] = {}
    for col in (*RETURN_COLUMNS, *FEE_COLUMNS, *(c for m in cols.fee_tax.values() for c in m.values())):
        if col not in first or col == "currency":  # currency: per line/fee below, so the parser sees it
            continue
        for number, row in rows[1:]:
            if row.get("fee_type") and not row.get(col):
                continue  # a fee row may leave the return's fields empty
            if row.get(col, "") != first[col]:
                conflicts[col] = {str(first_no): first[col], str(number): row.get(col, "")}
                extra.append(Problem(code="inconsistent_rows", field=col, message=(
                    f"{name} rows {first_no} and {number}: rows of one return disagree on {col} "
                    f"({first[col]!r} vs {row.get(col, '')!r}) — {FILE_FIX}")))
                break
    raw: dict[str, Any] = {}
    for col in RETURN_COLUMNS:
        if col in _CUSTOMER or not first.get(col):
            continue
        raw[col] = first[col]
    if "organization" not in raw:
        raw["organization"] = ctx.org_code
    if conflicts:  # kept in the raw payload, so a corrected file counts as a change
        raw["_csv_conflicts"] = conflicts
    currency = first.get("currency", "")
    customer = {key: first[col] for col, key in _CUSTOMER.items() if first.get(col)}
    if customer:
        raw["customer"] = customer
    lines: list[dict[str, Any]] = []
    fees: list[dict[str, Any]] = []
    where_line: list[int] = []
    where_fee: list[int] = []
    for fee in FEE_COLUMNS:
        if first.get(fee):
            entry: dict[str, Any] = {"type": fee, "amount": first[fee]}
            taxes = _taxes(first, cols.fee_tax.get(fee, {}), cols, ctx)
            if taxes:
                entry["tax"] = taxes
            fees.append(entry)
            where_fee.append(first_no)
    for number, row in rows:
        if row.get("fee_type"):
            entry = {"type": row["fee_type"]}
            if row.get("fee_amount"):
                entry["amount"] = row["fee_amount"]
            taxes = _taxes(row, cols.tax, cols, ctx)
            if taxes:
                entry["tax"] = taxes
            if row.get("currency") and row["currency"] != currency:
                entry["currency"] = row["currency"]
            fees.append(entry)
            where_fee.append(number)
            continue
        line: dict[str, Any] = {k: row[k] for k in LINE_COLUMNS if row.get(k) or (k == "description" and k in row)}
        line.setdefault("line_id", f"ln_{len(lines) + 1}")
        line["tax"] = _taxes(row, cols.tax, cols, ctx)
        if row.get("currency", "") != currency:
            line["currency"] = row.get("currency", "")
        lines.append(line)
        where_line.append(number)
    raw["lines"] = lines
    raw["fees"] = fees

    def annotate(problem: Problem) -> Problem:
        if problem.message.startswith(f"{name} row"):
            return problem
        path = problem.field or ""
        number = first_no
        for prefix, where in (("lines[", where_line), ("fees[", where_fee)):
            if path.startswith(prefix):
                idx = int(path[len(prefix):path.index("]")])
                number = where[idx] if idx < len(where) else first_no
        return replace(problem, message=f"{name} row {number}: {problem.message}")

    return Incoming(raw=raw, annotate=annotate, extra_problems=tuple(extra))

