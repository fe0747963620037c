"""Settings → Exchange rates: the organizations to pick from and the rates table, without widgets.

Split from :mod:`desktop.views.settings.fx_rates` (the section) so each stays readable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from desktop.services.queries.organizations import OrganizationDirectory
from desktop.views.sources import source_name

__all__ = ["OrgChoice", "RateRow", "RatesModel", "load_organizations", "rate_rows"]

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class OrgChoice:
    """An organization as the picker shows it, with the currencies its ledger said it uses."""

    code: str
    name: str
    platform: str
    home_currency: str
    timezone: str
    currencies: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"{self.code} — {self.name} ({source_name(self.platform)}, {self.home_currency})"


@dataclass(frozen=True)
class RateRow:
    """One entered rate and the last day it applies (None: until a later rate is entered)."""

    currency: str
    start: date
    until: date | None
    rate: str  # a decimal string as the service stores it; never a float


def rate_rows(table: dict[str, dict[str, str]]) -> list[RateRow]:
    """Flatten ``FxRateSettings.table`` into rows, each ending the day before its currency's next rate."""
    rows: list[RateRow] = []
    for currency, days in sorted(table.items()):
        starts = sorted(date.fromisoformat(d) for d in days)
        for i, start in enumerate(starts):
            until = starts[i + 1] - timedelta(days=1) if i + 1 < len(starts) else None
            rows.append(RateRow(currency, start, until, days[start.isoformat()]))
    return rows


def load_organizations(directory: OrganizationDirectory) -> list[OrgChoice]:
    """Active organizations with their ledger currencies, as the picker shows them.

    Runs on a worker: the directory reads the database.
    """
    return [OrgChoice(o.code, o.name, o.platform, o.home_currency, o.timezone, o.currencies)
            for o in directory.with_currencies()]


class RatesModel(QAbstractTableModel):
    """Read-only rows of one organization's rates; replaced whole on reload."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RateRow] = []
        self.home_currency = ""

    def headers(self) -> tuple[str, ...]:
        unit = f"{self.home_currency} per 1 unit" if self.home_currency else "home currency per 1 unit"
        return ("Currency", "From", "Until", f"Rate ({unit})")

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else 4

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 4:
            return self.headers()[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)) or not (0 <= index.column() < 4):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            until = row.until.isoformat() if row.until else "until a later rate"
            return (row.currency, row.start.isoformat(), until, row.rate)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 3:
            return f"1 {row.currency} = {row.rate} {self.home_currency}".rstrip()
        return None

    def row_at(self, row: int) -> RateRow:
        return self._rows[row]

    def rows(self) -> list[RateRow]:
        return list(self._rows)

    def set_rows(self, rows: list[RateRow], home_currency: str) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.home_currency = home_currency
        self.endResetModel()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 3)
