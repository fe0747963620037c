"""Column types that keep times, decimals and JSON exact on both SQLite and PostgreSQL.

SQLite has no decimal type (SQLAlchemy's ``Numeric`` there goes through ``float``), no time zones
and no JSON type; PostgreSQL has all three. These decorators give the models one behaviour on
both, so a test that passes on the SQLite file also means something for PostgreSQL, and back:

- :class:`UTCDateTime` refuses naive datetimes and always hands back aware UTC ones.
- :class:`ExactDecimal` is ``NUMERIC`` on PostgreSQL and canonical decimal *text* on SQLite.
- :class:`ExactJSON` is ``JSONB`` on PostgreSQL and ``JSON`` (text) on SQLite; it refuses
  ``float`` and writes ``Decimal`` as a JSON number spelled from the Decimal's own digits, so a
  payload parsed with ``parse_float=Decimal`` comes back with the same values.

Money itself is not a column type: it is stored as integer minor units plus an ISO currency code
(see :mod:`desktop.services.store.money_columns`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from desktop.services.core import exact_json
from desktop.services.core.clock import NaiveDatetimeError

__all__ = ["ExactDecimal", "ExactJSON", "UTCDateTime", "json_dumps_exact", "json_loads_exact"]


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC on the way in and on the way out.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall time as ISO-like text (which
    sorts correctly because every value is in the same zone and format). A naive datetime is a
    bug (whose local time was it?), so binding one raises instead of guessing.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime needs a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise NaiveDatetimeError(f"naive datetime {value!r} refused: times are timezone-aware UTC")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _canonical_decimal_text(value: Decimal) -> str:
    """Plain positional notation (no exponent), so equal-scale values compare and read well."""
    return format(value, "f")


def _as_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool | float):
        raise TypeError(f"{what} refuses {type(value).__name__} {value!r}: use Decimal or int")
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} needs a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{what} refuses non-finite {value!r}")
    return value


class ExactDecimal(TypeDecorator[Decimal]):
    """An arbitrary-precision decimal (FX rates, tax rates, quantities) with an exact round trip.

    ``NUMERIC`` without precision on PostgreSQL keeps every digit and the scale. On SQLite the
    value is stored as canonical text (``format(d, "f")``), never as REAL, so ``1.23456789`` and
    ``0.10`` come back digit for digit. Text does not sort numerically on SQLite: do not
    ``ORDER BY`` or range-filter these columns in SQL.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = _as_decimal(value, "ExactDecimal")
        return exact if dialect.name == "postgresql" else _canonical_decimal_text(exact)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, float):  # a foreign writer used REAL: refuse to launder it
            raise TypeError(f"ExactDecimal column holds a float {value!r}; the row was not written by us")
        return exact_json.to_decimal(value, "an ExactDecimal column")

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


#: The one exact-decimal JSON encoder and parser (:mod:`desktop.services.core.exact_json`), as the
#: engine's ``json_serializer``/``json_deserializer``.
json_dumps_exact = exact_json.dumps
json_loads_exact = exact_json.loads


class ExactJSON(TypeDecorator[Any]):
    """JSON (``JSONB`` on PostgreSQL) that round-trips ``Decimal`` values exactly.

    Serialisation is done by the engine's ``json_serializer``/``json_deserializer``, which
    :func:`desktop.services.store.db.make_engine` sets to :func:`json_dumps_exact` /
    :func:`json_loads_exact`; binding also checks the value up front so a float is refused with
    a clear message even on an engine built elsewhere. Integral Decimals without a fraction
    (``Decimal("100")``) read back as ``int`` of the same value.
    """

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # A Python None is SQL NULL (not the JSON literal null), so "IS NULL" means "absent".
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        # Plain, or encoded already (its value was proved plain): nothing to refuse.
        if value is not None and type(value) is not exact_json.EncodedJSON and not exact_json.is_plain(value):
            _check_json(value)
        return value


def _check_json(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError(f"float {value!r} refused in a JSON column: use Decimal (money is never float)")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"JSON cannot hold non-finite Decimal {value!r}")
    if isinstance(value, Mapping):
        for item in value.values():
            _check_json(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item)

