"""The Returns grid's second filter row: a period of the RMS's last change and a refund range.

Both become part of the :class:`~desktop.services.queries.returns.ReturnFilter` the model sends
to SQL — nothing is hidden row by row. An amount range always names its currency (amounts are
never compared across currencies), so the Min/Max boxes only open once a currency is chosen.
Dates are the person's local days, turned into timezone-aware bounds (``to`` includes its day).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QLineEdit, QWidget

from desktop.services.core.money import Money
from desktop.services.queries.returns import AmountRange, ReturnFilter
from desktop.views.combos import refill

__all__ = ["ANY_DATE", "FilterBar"]

#: The date edits' "no bound" value, shown as "Any".
ANY_DATE = QDate(2000, 1, 1)


def _day_start(day: date) -> datetime:
    """Local midnight starting ``day``, timezone-aware."""
    return datetime.combine(day, time()).astimezone()


class FilterBar(QWidget):
    """"Updated from … to …" and "Refund in [currency] from … to …"; emits :attr:`changed`."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.from_edit, self.to_edit = QDateEdit(), QDateEdit()
        for edit, name in ((self.from_edit, "Updated from"), (self.to_edit, "Updated to")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setMinimumDate(ANY_DATE)
            edit.setSpecialValueText("Any")  # shown while the date is the minimum: no bound
            edit.setDate(ANY_DATE)
            edit.setAccessibleName(name)
            edit.setToolTip(f"{name} (the RMS's last change, your local day); Any: no bound")
            edit.dateChanged.connect(lambda _d: self.changed.emit())
        self.currency = QComboBox()
        self.currency.addItem("Any currency", None)
        self.currency.setAccessibleName("Refund currency")
        self.currency.setToolTip("Refunds are compared within one currency: choose it to filter by amount")
        self.low, self.high = QLineEdit(), QLineEdit()
        for box, text in ((self.low, "Min"), (self.high, "Max")):
            box.setPlaceholderText(text)
            box.setClearButtonEnabled(True)
            box.setMaximumWidth(110)
            box.setAccessibleName(f"Refund {text.lower()}imum")
            box.editingFinished.connect(self.changed.emit)
        self.currency.currentIndexChanged.connect(self._on_currency)
        for widget in (QLabel("Updated"), self.from_edit, QLabel("to"), self.to_edit, QLabel("  Refund"),
                       self.currency, self.low, QLabel("–"), self.high):
            row.addWidget(widget)
        row.addStretch(1)
        self._on_currency(0, emit=False)

    def set_currencies(self, codes: list[str]) -> None:
        refill(self.currency, [("Any currency", None), *((c, c) for c in codes)])

    def _on_currency(self, _index: int, *, emit: bool = True) -> None:
        chosen = self.currency.currentData() is not None
        for edit in (self.low, self.high):
            edit.setEnabled(chosen)
            edit.setToolTip("" if chosen else "Choose a currency first: amounts are compared within one currency")
        if emit:
            self.changed.emit()

    def clear(self) -> None:
        """No date or amount bound (signals blocked: the caller sets the filter)."""
        for w in (self.from_edit, self.to_edit, self.currency, self.low, self.high):
            w.blockSignals(True)
        self.from_edit.setDate(ANY_DATE)
        self.to_edit.setDate(ANY_DATE)
        self.currency.setCurrentIndex(0)
        self.low.clear()
        self.high.clear()
        for w in (self.from_edit, self.to_edit, self.currency, self.low, self.high):
            w.blockSignals(False)
        self._on_currency(0, emit=False)

    @staticmethod
    def _day(edit: QDateEdit) -> date | None:
        d = edit.date()
        return None if d == ANY_DATE else date(d.year(), d.month(), d.day())

    def apply(self, base: ReturnFilter) -> tuple[ReturnFilter, str | None]:
        """``base`` with these bounds, or ``base`` unchanged and what is wrong with them."""
        start, end = self._day(self.from_edit), self._day(self.to_edit)
        if start is not None and end is not None and end < start:
            return base, "The 'to' date is before the 'from' date."
        currency = self.currency.currentData()
        amount = None
        if currency is not None:
            bounds: list[Decimal | None] = []
            for edit in (self.low, self.high):
                text = edit.text().strip()
                try:
                    money = Money.parse(text, currency) if text else None
                    if money is not None:
                        money.to_minor_units()  # no more decimals than the currency has
                except (ValueError, ArithmeticError):
                    return base, f"{text!r} is not an amount in {currency} (write it like 1234.50)."
                bounds.append(money.amount if money is not None else None)
            if bounds[0] is not None and bounds[1] is not None and bounds[1] < bounds[0]:
                return base, "The maximum refund is below the minimum."
            amount = AmountRange(currency, bounds[0], bounds[1])
        return replace(base, updated_from=_day_start(start) if start else None,
                       updated_before=_day_start(end + timedelta(days=1)) if end else None, amount=amount), None
