"""Money on a model: an integer minor-units column plus a currency column, read as ``Money``.

Integers are exact on every database, and ``BIGINT`` holds ±9.2e18 minor units — more than any
ledger amount. A row keeps its own ``currency`` column next to its amounts, so an amount read
from a row never depends on a parent row being loaded.

Usage on a declarative model::

    class ReturnFee(Base):
        amount_minor: Mapped[int] = mapped_column(BigInteger)
        currency: Mapped[str] = mapped_column(String(3))
        amount = MoneyField("amount_minor")

``fee.amount = Money(Decimal("5.00"), "USD")`` sets both columns; assigning an amount in another
currency than the row's raises, because mixing currencies is always a bug.
"""

from __future__ import annotations

from typing import Any, overload

from desktop.services.core.money import Money

__all__ = ["MoneyField", "OptionalMoneyField"]


class _MoneyDescriptor:
    def __init__(self, minor_attr: str, currency_attr: str = "currency") -> None:
        self.minor_attr = minor_attr
        self.currency_attr = currency_attr
        self.name = minor_attr

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def _read(self, obj: object) -> Money | None:
        minor = getattr(obj, self.minor_attr)
        if minor is None:
            return None
        currency = getattr(obj, self.currency_attr)
        if currency is None:
            raise ValueError(f"{type(obj).__name__}.{self.name}: amount without a currency")
        return Money.from_minor_units(int(minor), currency)

    def _write(self, obj: object, value: Money | None) -> None:
        if value is None:
            setattr(obj, self.minor_attr, None)
            return
        if not isinstance(value, Money):
            raise TypeError(f"{type(obj).__name__}.{self.name} takes Money, got {type(value).__name__}")
        current = getattr(obj, self.currency_attr, None)
        if current is not None and current != value.currency:
            raise ValueError(
                f"{type(obj).__name__}.{self.name}: {value.currency} amount on a {current} row"
            )
        setattr(obj, self.minor_attr, value.to_minor_units())
        if current is None:
            setattr(obj, self.currency_attr, value.currency)


class MoneyField(_MoneyDescriptor):
    """A required amount: reads ``Money``, writes ``Money`` (see the module docstring)."""

    @overload
    def __get__(self, obj: None, owner: type) -> MoneyField: ...

    @overload
    def __get__(self, obj: object, owner: type) -> Money: ...

    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self
        value = self._read(obj)
        if value is None:
            raise ValueError(f"{type(obj).__name__}.{self.name} is not set")
        return value

    def __set__(self, obj: object, value: Money) -> None:
        self._write(obj, value)


class OptionalMoneyField(_MoneyDescriptor):
    """An amount that may be absent (``None`` in the minor-units column)."""

    @overload
    def __get__(self, obj: None, owner: type) -> OptionalMoneyField: ...

    @overload
    def __get__(self, obj: object, owner: type) -> Money | None: ...

    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self
        return self._read(obj)

    def __set__(self, obj: object, value: Money | None) -> None:
        self._write(obj, value)
