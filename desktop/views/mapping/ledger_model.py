"""The ledger's side as a drop target: chart of accounts by type, tax codes, items, tracking and the
suppliers (vendors) goods go back to.

Every record row carries a :class:`~desktop.views.mapping.editing.TargetRef`. The model accepts
any drag of ours anywhere (``canDropMimeData``), so a drop onto a heading or a wrong account still
arrives and can be *refused with its reason* by the editor — a drop the model rejected up front
would only show a "no entry" cursor and say nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMimeData, QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel

from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.platforms.base import RefRecord
from desktop.services.platforms.interface import PlatformProfile
from desktop.services.platforms.registry import LEGACY_PLATFORM, platform_for
from desktop.views.mapping import mime
from desktop.views.mapping.editing import CodeRef, TargetRef

TARGET_ROLE = Qt.ItemDataRole.UserRole + 1
DropHandler = Callable[[CodeRef, TargetRef], bool]


def _heading(text: str, key: str) -> list[QStandardItem]:
    item = QStandardItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled)
    item.setData(TargetRef("heading", key, text), TARGET_ROLE)
    bold = QFont()
    bold.setBold(True)
    item.setFont(bold)
    detail = QStandardItem("")
    detail.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled)
    detail.setData(TargetRef("heading", key, text), TARGET_ROLE)
    return [item, detail]


def _record(text: str, detail: str, target: TargetRef, active: bool, tip: str = "") -> list[QStandardItem]:
    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDropEnabled
    cells = [QStandardItem(text if active else f"{text} (inactive)"), QStandardItem(detail)]
    for cell in cells:
        cell.setFlags(flags)
        cell.setData(target, TARGET_ROLE)
        cell.setToolTip(tip or text)
        if not active:
            font = QFont()
            font.setItalic(True)
            cell.setFont(font)
    return cells


def _account_text(a: RefRecord) -> str:
    return f"{a.code} · {a.name}" if a.code else a.name


class LedgerTreeModel(QStandardItemModel):
    """A snapshot's records as a drop-target tree; ``drop_handler`` decides what a drop does."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["Ledger", "Detail"])
        self.drop_handler: DropHandler | None = None
        self.platform = ""

    def set_snapshot(self, snapshot: ReferenceSnapshot | None) -> None:
        self.beginResetModel()
        self.blockSignals(True)
        try:
            self.removeRows(0, self.rowCount())
            if snapshot is not None:
                self.platform = snapshot.platform
                self._fill(snapshot)
        finally:
            self.blockSignals(False)
            self.endResetModel()

    def _fill(self, s: ReferenceSnapshot) -> None:
        p = platform_for(s.platform or LEGACY_PLATFORM)
        accounts = _heading("Chart of accounts", "accounts")
        by_type: dict[str, list[RefRecord]] = {}
        for a in s.accounts.values():
            by_type.setdefault(a.type or "Other", []).append(a)
        for kind in sorted(by_type, key=lambda t: p.account_type_headings.get(t, t)):
            word = p.account_type_headings.get(kind, kind)
            group = _heading(word, f"type:{kind}")
            for a in sorted(by_type[kind], key=lambda r: (r.code or "", r.name.casefold())):
                detail = f"{word}" + (f" · {a.currency}" if a.currency and kind in ("BANK", "Bank") else "")
                group[0].appendRow(_record(_account_text(a), detail, TargetRef("account", a.remote_id, a.name),
                                           a.active, f"{_account_text(a)} — {word}"))
            accounts[0].appendRow(group)
        self.appendRow(accounts)
        taxes = _heading(f"Tax {p.tax_word}s", "tax_codes")
        for t in sorted(s.tax_codes.values(), key=lambda r: r.name.casefold()):
            rate = t.raw.get("EffectiveRate", t.raw.get("DisplayTaxRate"))
            detail = f"{rate} %" if rate is not None else ""
            taxes[0].appendRow(_record(t.name, str(detail), TargetRef("tax_code", t.remote_id, t.name), t.active,
                                       f"{t.name} ({t.code or t.remote_id})"))
        self.appendRow(taxes)
        if s.items and p.items_book_to_accounts:
            items = _heading("Items", "items")
            for i in sorted(s.items.values(), key=lambda r: r.name.casefold()):
                income = s.accounts.get(i.parent_id or "")
                detail = f"books to {_account_text(income)}" if income is not None else (i.type or "")
                items[0].appendRow(_record(i.name, detail, TargetRef("item", i.remote_id, i.name), i.active))
            self.appendRow(items)
        self._tracking(s, p)
        self._suppliers(s)

    def _suppliers(self, s: ReferenceSnapshot) -> None:
        """The ledger's vendors (cached with the rest of the reference data): a Supplier (goods returned to
        vendor) rule's targets, with the currency each trades in."""
        vendors = s.suppliers()
        if not vendors:
            return
        group = _heading("Suppliers", "vendors")
        for v in vendors:
            detail = f"Vendor · {v.currency or 'any currency'}"  # no currency of its own: any (vendor_carries)
            group[0].appendRow(_record(v.name, detail, TargetRef("vendor", v.remote_id, v.name), v.active,
                                       f"{v.name} — {detail}; drop Supplier (goods returned to vendor) here"))
        self.appendRow(group)

    def _tracking(self, s: ReferenceSnapshot, p: PlatformProfile) -> None:
        tracking = _heading("Tracking", "tracking")
        records = list(s.tracking.values())
        if p.tracking_in_categories:
            for cat in sorted((r for r in records if s.tracking_kind(r) == "category"), key=lambda r: r.name):
                head = _record(cat.name, "Tracking category", TargetRef("category", cat.remote_id, cat.name),
                               cat.active)
                for opt in sorted((r for r in records if s.tracking_kind(r) == "option"
                                   and r.parent_id == cat.remote_id), key=lambda r: r.name):
                    head[0].appendRow(_record(opt.name, cat.name, TargetRef("tracking", opt.remote_id, opt.name,
                                                                            cat.remote_id), opt.active))
                tracking[0].appendRow(head)
        else:
            for kind, title, detail in p.tracking_groups:
                group = _heading(title, f"tracking:{kind}")
                for r in sorted((r for r in records if s.tracking_kind(r) == kind), key=lambda r: r.name):
                    group[0].appendRow(_record(r.name, detail, TargetRef("tracking", r.remote_id, r.name, kind),
                                               r.active))
                if group[0].rowCount():
                    tracking[0].appendRow(group)
        if tracking[0].rowCount():
            self.appendRow(tracking)

    # --- drop ------------------------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:
        return [mime.MIME_TYPE]

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: QModelIndex | QPersistentModelIndex) -> bool:
        return mime.decode(data) is not None

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: QModelIndex | QPersistentModelIndex) -> bool:
        code = mime.decode(data)
        if code is None or self.drop_handler is None:
            return False
        index = self.index(row, 0, parent) if row >= 0 else parent
        target = index.data(TARGET_ROLE) if index.isValid() else None
        if not isinstance(target, TargetRef):
            target = TargetRef("heading", "", "the empty space")
        return self.drop_handler(code, target)

    def find(self, kind: str, remote_id: str) -> QModelIndex:
        """The index of a record (tests and "show in tree")."""
        stack = [self.invisibleRootItem()]
        while stack:
            item = stack.pop()
            for r in range(item.rowCount()):
                child = item.child(r, 0)
                target: Any = child.data(TARGET_ROLE)
                if isinstance(target, TargetRef) and target.kind == kind and target.id == remote_id:
                    return child.index()
                stack.append(child)
        return QModelIndex()


class LedgerFilter(QSortFilterProxyModel):
    """Search: a record stays when its name, code or detail contains the text; headings with a hit stay."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
