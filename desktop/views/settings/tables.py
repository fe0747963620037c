"""The Settings page's small tables: users and registered ledger apps, replaced whole on reload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QTableView,
)

from desktop.services.admin.users import ROLE_DESCRIPTIONS, UserInfo
from desktop.services.auth.platforms import Environment, Platform, auth_facts, environment_label, platform_label
from desktop.services.auth.roles import Role
from desktop.views.models.list_table import ListTableModel

if TYPE_CHECKING:
    pass


__all__ = ["ROLE_NAMES", "AppRow", "AppsModel", "Index", "TableModel", "UsersModel", "fit_rows"]

Index = QModelIndex | QPersistentModelIndex
ROLE_NAMES = {Role.ADMIN: "Admin", Role.OPERATOR: "Operator", Role.VIEWER: "Viewer / auditor"}


@dataclass(frozen=True)
class AppRow:
    """A registered OAuth app as the page may see it: never the secret, only whether there is one."""

    platform: Platform
    environment: Environment
    client_id: str
    redirect_uri: str
    has_secret: bool


class TableModel(ListTableModel):
    """A small read-only table of immutable rows (users, apps): replaced whole on reload."""

    def row_data(self, row: Any, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, column)
        return None

    def cell(self, row: Any, column: int) -> str:
        raise NotImplementedError

    def tooltip(self, row: Any, column: int) -> str | None:
        return None

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()


class UsersModel(TableModel):
    headers = ("User", "Name", "Role", "Status", "Since")

    def cell(self, row: UserInfo, column: int) -> str:
        return (row.username, row.display_name, ROLE_NAMES[row.role], "Active" if row.is_active else "Deactivated",
                f"{row.created_at.astimezone():%Y-%m-%d}")[column]

    def tooltip(self, row: UserInfo, column: int) -> str | None:
        return ROLE_DESCRIPTIONS[row.role] if column == 2 else None


class AppsModel(TableModel):
    headers = ("Ledger", "Environment", "Client ID", "Redirect URI", "Client secret")

    def cell(self, row: AppRow, column: int) -> str:
        if column == 4:
            secret = "Stored in the keyring" if row.has_secret else (
                "None (PKCE app)" if auth_facts(row.platform).uses_pkce else "Missing")
        else:
            secret = ""
        return (platform_label(row.platform), environment_label(row.environment), row.client_id, row.redirect_uri,
                secret)[column]


def fit_rows(table: QTableView, rows: int, most: int = 8) -> None:
    """Show every row (up to ``most``) without an inner scroll bar; the page scrolls instead."""
    visible = max(1, min(rows, most))
    table.setFixedHeight(table.horizontalHeader().sizeHint().height()
                         + visible * table.verticalHeader().defaultSectionSize() + 2 * table.frameWidth())
