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

import contextlib
import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, BinaryIO

from desktop.services.auth.roles import Action, Actor
from desktop.services.core.domain import Problem
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.json_stream import JsonListStream, JsonStreamError, NotAList
from desktop.services.core.safe_input import RMS_FILE_LIMIT, InputRejected
from desktop.services.rms.context import OrgContext
from desktop.services.rms.ingest import BATCH_SIZE, Incoming, IngestResult, IngestService
from desktop.services.rms.packed import PackedMap
from desktop.services.rms.parse import FILE_FIX
from desktop.services.rms.progress import ProgressCallback, StopCheck
from desktop.services.rms.storable import trim_depth

__all__ = ["FileRecords", "ReturnsFileImport", "import_file", "read_csv", "read_json", "read_records"]

RETURN_COLUMNS = ("id", "rma_number", "revision", "organization", "customer_id", "customer_name",
                  "customer_email", "channel", "warehouse", "currency", "created_at", "updated_at",
                  "refund_method", "status", "refund_total")
LINE_COLUMNS = ("line_id", "sku", "description", "quantity", "unit_price", "reason_code", "disposition", "unit_cost")
FEE_COLUMNS = ("restocking_fee", "return_shipping_charged", "label_cost", "outbound_shipping_refunded")
REQUIRED_COLUMNS = ("id", "currency", "unit_price")
_CUSTOMER = {"customer_id": "id", "customer_name": "name", "customer_email": "email"}


def import_file(service: IngestService, path: Path, org_code: str, actor: Actor, *,
                stopped: Callable[[int], None] | None = None, progress: ProgressCallback | None = None,
                cancelled: StopCheck | None = None, batch_size: int = BATCH_SIZE) -> IngestResult:
    """Stream ``path``'s records into ``org_code`` (validated against its RMS profile), a batch at a time.

    Importing feeds the sync like a pull does, so ``actor`` must be allowed to ``run_sync``.
    ``progress`` is told the figures after every committed batch and ``cancelled()`` is asked
    then: a cancel stops at that batch boundary (what committed stays; the result says how many
    records were not read). ``stopped(records)`` is told, before the error propagates, when
    ingesting fails part-way, with the number of records read so far (each batch is its own
    transaction: what committed stays, and a re-run skips it).
    """
    actor.require(Action.RUN_SYNC)
    ctx = service.context_for(org_code)
    with FileRecords(path, ctx) as records:
        try:
            return service.ingest(org_code, records, ctx=ctx, fix=FILE_FIX, source=f"file:{path.name}",
                                  batch_size=batch_size, progress=progress, cancelled=cancelled,
                                  records=records)
        except BaseException:
            if stopped is not None:
                stopped(records.handed)
            raise


@dataclass(frozen=True)
class ReturnsFileImport:
    """File import as the GUI runs it (off the GUI thread): the ingest service, for a signed-in actor."""

    ingest: IngestService

    def run(self, actor: Actor, path: Path, org_code: str, *, progress: ProgressCallback | None = None,
            cancelled: StopCheck | None = None) -> IngestResult:
        """:func:`import_file` with progress after every batch and a cancel at batch boundaries."""
        return import_file(self.ingest, path, org_code, actor, progress=progress, cancelled=cancelled)


class FileRecords:
    """The records of a JSON or CSV export (by extension, else by the first character), read lazily.

    A :class:`~desktop.services.rms.progress.RecordSource`: the file is read as it is iterated, so
    memory holds one chunk and the records of one batch, whatever the file's size (capped at
    :data:`RMS_FILE_LIMIT`, refused up front with a message). Use as a context manager.
    """

    def __init__(self, path: Path, ctx: OrgContext) -> None:
        self.path = path
        self.name = path.name
        self._ctx = ctx
        try:
            self.bytes_total = path.stat().st_size
            if self.bytes_total > RMS_FILE_LIMIT:
                raise InputRejected(f"{path.name} is larger than the {_size(RMS_FILE_LIMIT)} an import accepts "
                                    f"({_size(self.bytes_total)})",
                                    action="split the export into smaller files (by date range) and import each")
            self._fh: BinaryIO = path.open("rb")
        except OSError as exc:
            raise InputRejected(f"Cannot read {path.name}: {exc.strerror or exc}",
                                action="check the file name and its permissions") from exc
        head = self._fh.read(64).decode("utf-8-sig", "replace").lstrip()
        self._fh.seek(0)
        suffix = path.suffix.lower()
        self.is_json = suffix == ".json" or (suffix != ".csv" and head[:1] in ("[", "{"))
        self._json: JsonListStream | None = None
        self._csv: _CsvGroups | None = None
        self._items: Iterator[Incoming] | None = None
        self.handed = 0  # records handed out so far

    def __enter__(self) -> FileRecords:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    @property
    def bytes_read(self) -> int:
        if self._json is not None:
            return self._json.position
        return min(self._fh.tell(), self.bytes_total) if not self._fh.closed else self.bytes_total

    def __iter__(self) -> Iterator[Incoming]:
        if self._items is None:
            self._items = self._read()
        return self._items

    def _read(self) -> Iterator[Incoming]:
        with _readable(self.name):
            if self.is_json:
                self._json = JsonListStream(self._fh, too_deep=trim_depth)
                for value in self._json:
                    self.handed += 1
                    where = f"{self.name} record {self.handed}"
                    yield Incoming(raw=value, annotate=_prefixed(where), where=where)
                return
            self._csv = _CsvGroups(io.TextIOWrapper(self._fh, encoding="utf-8-sig", newline=""), self.name)
            cols = _Columns.from_header(self._csv.header)
            for rows, split in self._csv:
                self.handed += 1
                yield _group(self.name, rows, cols, self._ctx, split)

    def count_rest(self) -> int:
        """The records past those handed out (read on without validating: after a cancel)."""
        if self._items is None:
            self._items = self._read()
        with _readable(self.name):
            if self._json is not None:
                return sum(1 for _ in self._json)
            if self._csv is not None:
                return self._csv.count_rest()
        return sum(1 for _ in self._items)


def _size(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB" if n >= 1 << 20 else f"{n:,} bytes"


@contextlib.contextmanager
def _readable(name: str) -> Iterator[None]:
    """Reading errors as a person's message: not UTF-8, not JSON, unreadable CSV quoting."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise NeedsPersonError(f"{name} is not UTF-8 text", action="export the file as UTF-8") from exc
    except NotAList:
        raise NeedsPersonError(f"{name} holds neither a list of returns nor an object with a \"returns\" list",
                               action="export the returns as a JSON list") from None
    except JsonStreamError as exc:
        raise InputRejected(f"{name} is not valid JSON ({exc})", action="export the file again") from exc


def read_records(path: Path, ctx: OrgContext) -> list[Incoming]:
    """Every record of a (small) export at once; imports stream through :class:`FileRecords` instead."""
    with FileRecords(path, ctx) as records:
        return list(records)


def _prefixed(where: str) -> Callable[[Problem], Problem]:
    def annotate(problem: Problem) -> Problem:
        return replace(problem, message=f"{where}: {problem.message}")
    return annotate


def read_json(text: str, name: str) -> list[Incoming]:
    """A JSON export: a list of returns, or an object with a ``returns`` list."""
    with _readable(name):
        values = list(JsonListStream(io.BytesIO(text.encode("utf-8", "surrogatepass")), too_deep=trim_depth))
    return [Incoming(raw=item, annotate=_prefixed(f"{name} record {i + 1}"), where=f"{name} record {i + 1}")
            for i, item in enumerate(values)]


@dataclass
class _Columns:
    """What the CSV header says, once: where each kind of value is."""

    tax: dict[str, str] = field(default_factory=dict)       # jurisdiction → amount column
    tax_rate: dict[str, str] = field(default_factory=dict)  # jurisdiction → rate column
    fee_tax: dict[str, dict[str, str]] = field(default_factory=dict)  # fee → jurisdiction → column

    #: jurisdiction → the organization's published rate as text (one file, one organization).
    published: dict[str, str] = field(default_factory=dict)
    #: The columns every row of a return repeats (checked to agree), in the order problems name them.
    return_level: tuple[str, ...] = ()
    #: The values of a row's ``return_level`` columns, at once.
    same_return: Callable[[Mapping[str, str]], object] = field(default=lambda row: None)

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
        cols.return_level = (*RETURN_COLUMNS, *FEE_COLUMNS, *(c for m in cols.fee_tax.values() for c in m.values()))
        present = [c for c in cols.return_level if c in header]  # every row holds every header column
        cols.same_return = itemgetter(*present) if present else (lambda row: None)
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
    """A CSV export held in memory (see the module docstring); imports stream through :class:`FileRecords`."""
    groups = _CsvGroups(io.StringIO(text, newline=""), name)
    cols = _Columns.from_header(groups.header)
    return [_group(name, rows, cols, ctx, split) for rows, split in groups]


_Rows = list[tuple[int, dict[str, str]]]
#: Returns a CSV import keeps open for more of their rows (see :class:`_CsvGroups`).
OPEN_GROUPS = 256


class _CsvGroups:
    """The rows of a CSV export grouped into returns by (id, revision), in bounded memory.

    A return's rows should be near each other (exports write them together): a return stays open
    for more rows until :data:`OPEN_GROUPS` other returns have started after it. A key seen again
    after its return was closed is reported (``split``), and those later rows are quarantined
    (``split_rows``) rather than silently split. Only a 64-bit hash of each closed key is kept (a
    :class:`~desktop.services.rms.packed.PackedMap`: about 20 bytes a return).
    """

    def __init__(self, text: IO[str], name: str) -> None:
        self._name = name
        self._reader = csv.reader(text)
        with self._errors():
            try:
                self.header = _norm_header(next(self._reader))
            except StopIteration:
                raise NeedsPersonError(f"{name} is empty", action="export the returns again") from None
        missing = [c for c in REQUIRED_COLUMNS if c not in self.header]
        if missing:
            raise NeedsPersonError(f"{name} does not look like an RMS returns export: no column {', '.join(missing)}",
                                   action="see docs/rms-file-import.md for the columns the import reads")
        self._id = self.header.index("id")
        self._rev = self.header.index("revision") if "revision" in self.header else None
        self._seen = PackedMap()  # hashes of the closed keys (packed: about 20 bytes a return)
        self._number = 1
        self._groups = self._group_rows()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except csv.Error as exc:
            raise NeedsPersonError(f"{self._name} row {self._reader.line_num}: not readable CSV ({exc})",
                                   action="fix the quoting on that row and import again") from exc

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        """The non-blank rows, their cells stripped (once, here)."""
        with self._errors():
            for cells in self._reader:
                self._number += 1
                stripped = list(map(str.strip, cells))
                if any(stripped):
                    yield self._number, stripped

    def _key(self, number: int, cells: list[str]) -> tuple[str, ...]:
        rid = cells[self._id].strip() if self._id < len(cells) else ""
        if not rid:
            return ("", str(number))
        rev = cells[self._rev].strip() if self._rev is not None and self._rev < len(cells) else ""
        return (rid, rev)

    def __iter__(self) -> Iterator[tuple[_Rows, bool]]:
        return self._groups  # one generator: counting the rest after a cancel continues it

    def _group_rows(self) -> Iterator[tuple[_Rows, bool]]:
        header = self.header
        open_groups: dict[tuple[str, ...], _Rows] = {}  # insertion order: the oldest first
        for number, cells in self._rows():
            key = self._key(number, cells)
            rows = open_groups.get(key)
            if rows is None:
                if len(open_groups) >= OPEN_GROUPS:
                    oldest = next(iter(open_groups))
                    done = open_groups.pop(oldest)
                    yield done, self._finish(oldest)
                rows = open_groups[key] = []
            row = dict(zip(header, cells, strict=False))  # cells past the header: not read
            if len(cells) < len(header):
                row.update(dict.fromkeys(header[len(cells):], ""))
            rows.append((number, row))
        for key, rows in open_groups.items():
            yield rows, self._finish(key)

    def _finish(self, key: tuple[str, ...] | None) -> bool:
        """Close ``key``'s group; True when that key was closed before (its rows are split)."""
        digest = hash(key)
        if digest in self._seen:
            return True
        self._seen.add(digest)
        return False

    def count_rest(self) -> int:
        """Groups left in the file (after a cancel): counted, not built."""
        return sum(1 for _ in self._groups)


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
            rate = cols.published.get(code) or cols.published.setdefault(
                code, format(ctx.jurisdictions[code].rate, "f"))
        if rate:
            entry["rate"] = rate
        out.append(entry)
    return out


def _group(name: str, rows: _Rows, cols: _Columns, ctx: OrgContext, split: bool = False) -> Incoming:
    first_no, first = rows[0]
    extra: list[Problem] = []
    if split:
        extra.append(Problem(code="split_rows", field="id", message=(
            f"{name} row {first_no}: more rows of return {first.get('id')!r} (revision "
            f"{first.get('revision', '')!r}) come after other returns, too far from its first rows to be put "
            f"together into one return — put all its rows together, {FILE_FIX}")))
    conflicts: dict[str, dict[str, str]] = {}
    same = cols.same_return(first)  # the usual case: every row repeats the return's fields verbatim
    for col in () if all(cols.same_return(row) == same for _number, row in rows[1:]) else cols.return_level:
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
    if split:  # likewise: these rows are not the same record as the return's first ones
        raw["_csv_split_rows_from"] = first_no
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

    return Incoming(raw=raw, annotate=annotate, extra_problems=tuple(extra), continues=split,
                    where=f"{name} row {first_no}")

