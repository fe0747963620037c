"""Inserts of many rows straight through the driver: prebuilt tuples, bound exactly as SQLAlchemy binds them.

SQLAlchemy's Core ``insert(...)`` with a list of dicts compiles and processes every parameter set in
Python — at tens of thousands of rows a minute (file import, the event log) that is a large part of
the work. :class:`BulkWriter` writes through the session's own DBAPI connection (so inside its
transaction) instead, one statement per table per batch: ``executemany``, or multi-row ``INSERT …
RETURNING`` when the new ids are needed (the same SQL on SQLite and PostgreSQL).

Values are bound exactly as SQLAlchemy would bind them: each column's own bind processor for the
connection's dialect (UTC times, exact decimals and JSON, enums), and a column left out of the rows
gets its scalar default (a default computed per row is refused, not guessed). Which columns a table's
rows carry is read from the rows themselves (:func:`row_keys`), so a new column is a new key where
the rows are built and nothing here.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Dialect, Table
from sqlalchemy.orm import Session

__all__ = ["BulkWriter", "row_keys"]

#: Bound parameters per multi-row statement: under SQLite's limit (32,766) and PostgreSQL's (65,535).
_MAX_PARAMS = 30_000
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


class _Shape:
    """How rows with given keys become one table's parameter tuples on one dialect (built once)."""

    def __init__(self, table: Table, dialect: Dialect, keys: tuple[str, ...], lead: tuple[str, ...]) -> None:
        self.keys = keys
        present = set(keys) | set(lead)
        defaults = [(c.name, getattr(c.default, "arg", None)) for c in table.c
                    if c.name not in present and c.default is not None and getattr(c.default, "is_scalar", False)]
        computed = [c.name for c in table.c if c.name not in present and c.default is not None
                    and not getattr(c.default, "is_scalar", False)]
        if computed:  # a default computed per row would have to be called here, as SQLAlchemy does
            raise RuntimeError(f"bulk inserts into {table.name} need values for {', '.join(computed)}")
        self.columns = (*lead, *keys, *(name for name, _value in defaults))
        self.tail = tuple(value for _name, value in defaults)
        self.get: Callable[[Mapping[str, Any]], Any] = itemgetter(*keys) if len(keys) > 1 else (
            lambda row: (row[keys[0]],))
        self.processors: list[tuple[int, Callable[[Any], Any]]] = []
        for i, name in enumerate(self.columns):
            proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                self.processors.append((i, _last_value(proc)))
        mark = _PLACEHOLDER.get(dialect.paramstyle)
        if mark is None:
            raise RuntimeError(f"bulk inserts do not know the {dialect.paramstyle!r} parameter style")
        self.row_sql = "(" + ", ".join([mark] * len(self.columns)) + ")"
        # Identifiers from the models' own metadata, never from input; every value is a bound parameter.
        self.head = f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES "  # noqa: S608

    def tuples(self, rows: Iterable[Mapping[str, Any]], lead: Sequence[tuple[Any, ...]] | None = None
               ) -> list[Sequence[Any]]:
        """Each row's parameters (``lead`` first), bound. One list per row, processed column by
        column in place (no per-row tuple copies); the drivers take any sequence."""
        get, tail, procs = self.get, self.tail, self.processors
        out: list[list[Any]]
        if lead is None:
            out = [[*get(row), *tail] for row in rows]
        else:
            out = [[*head, *get(row), *tail] for head, row in zip(lead, rows, strict=True)]
        for i, proc in procs:
            for values in out:
                value = values[i]
                if value is not None:
                    values[i] = proc(value)
        return cast(list[Sequence[Any]], out)


def _last_value(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` remembering its last input (by identity) and output: a batch binds the same time
    (``ingested_at``) or enum member row after row. Only immutable inputs are remembered."""
    memo: list[tuple[Any, Any]] = [(object(), None)]  # one pair, swapped whole: safe across threads

    def bind(value: Any) -> Any:
        last = memo[0]
        if value is last[0]:
            return last[1]
        out = proc(value)
        if not isinstance(value, dict | list):
            memo[0] = (value, out)
        return out
    return bind


#: Per dialect (an engine's): the shapes built so far, by (table, row keys, leading columns).
_SHAPES: weakref.WeakKeyDictionary[Dialect, dict[tuple[str, tuple[str, ...], tuple[str, ...]], _Shape]] = (
    weakref.WeakKeyDictionary())


class BulkWriter:
    """Inserts through one session's DBAPI connection (its transaction), shapes cached per dialect."""

    def __init__(self, session: Session) -> None:
        """Use as a context manager (closes its cursor)."""
        conn = session.connection()
        self.dialect = conn.dialect
        self.cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def shape(self, model: Any, keys: tuple[str, ...], lead: tuple[str, ...] = ()) -> _Shape:
        table = cast(Table, model.__table__)
        shapes = _SHAPES.get(self.dialect)
        if shapes is None:
            shapes = _SHAPES.setdefault(self.dialect, {})
        found = shapes.get((table.name, keys, lead))
        if found is None:
            found = shapes[(table.name, keys, lead)] = _Shape(table, self.dialect, keys, lead)
        return found

    def many(self, shape: _Shape, params: Sequence[Sequence[Any]], suffix: str = "") -> None:
        """``executemany`` of ``params`` (``suffix``: e.g. ``ON CONFLICT … DO NOTHING``)."""
        if params:
            self.cursor.executemany(shape.head + shape.row_sql + suffix, params)

    def returning(self, shape: _Shape, params: Sequence[Sequence[Any]], suffix: str) -> list[tuple[Any, ...]]:
        """INSERTs of ``params`` ending in ``suffix`` (``… RETURNING …``); the rows returned.

        psycopg runs them as one pipelined ``executemany`` with a result per row (its own parsing of
        a statement's placeholders is in Python and not cached for long statements); SQLite, whose
        ``executemany`` returns nothing, as multi-row ``VALUES`` statements."""
        out: list[tuple[Any, ...]] = []
        if self.dialect.driver == "psycopg":
            if params:
                cast(Any, self.cursor).executemany(shape.head + shape.row_sql + suffix, params, returning=True)
                while True:
                    out.extend(self.cursor.fetchall())
                    if not self.cursor.nextset():
                        break
            return out
        per = max(1, _MAX_PARAMS // len(shape.columns))
        for start in range(0, len(params), per):
            chunk = params[start:start + per]
            self.cursor.execute(shape.head + ", ".join([shape.row_sql] * len(chunk)) + suffix,
                                [value for row in chunk for value in row])
            out.extend(self.cursor.fetchall())
        return out

    def close(self) -> None:
        self.cursor.close()

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def row_keys(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The columns of ``rows`` (every row of one table carries the same ones, as built by ``records``)."""
    keys = tuple(rows[0])
    for row in rows:
        if row.keys() != rows[0].keys():
            raise ValueError(f"rows of one table carry different columns: {sorted(row)} vs {sorted(keys)}")
    return keys
