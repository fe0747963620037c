"""Every keyboard shortcut a window defines, read from its actions and shortcuts themselves.

:func:`collect` walks a window's ``QAction``s and ``QShortcut``s, so the Help → Keyboard shortcuts
list can never drift from what the keys really do; :func:`clashes` finds two shortcuts with the
same keys that can be live at the same moment — Qt then calls the key "ambiguous" and does
nothing. When two are live together:

- a window-wide shortcut (``WindowShortcut``/``ApplicationShortcut``) is live while its widget is
  visible; two such, or one and a focus-bound one, clash unless they sit on different pages of a
  ``QStackedWidget`` (only one page is ever visible);
- a focus-bound shortcut (``WidgetWithChildrenShortcut``/``WidgetShortcut``) is live while focus is in
  its widget; two such clash when one widget contains the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ShortcutEntry", "ShortcutsDialog", "clashes", "collect"]

_WINDOW_WIDE = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)


@dataclass(frozen=True)
class ShortcutEntry:
    keys: str          # portable text, e.g. "Ctrl+Shift+R"
    text: str          # what it does
    where: str         # "Everywhere" or the page / panel it belongs to
    owner: QWidget     # the widget whose visibility or focus makes it live
    window_wide: bool

    @property
    def native_keys(self) -> str:
        return QKeySequence(self.keys).toString(QKeySequence.SequenceFormat.NativeText)


def _clean(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


def _owner(obj: QObject, window: QWidget) -> QWidget:
    parent = obj.parent()
    while parent is not None and not isinstance(parent, QWidget):
        parent = parent.parent()
    if isinstance(parent, QMenu) or parent is None:  # an action living in the menu bar acts window-wide
        return window
    return parent


def _where(owner: QWidget, window: QWidget) -> str:
    widget: QWidget | None = owner
    while widget is not None and widget is not window:
        info = getattr(widget, "info", None)
        if info is not None and getattr(info, "title", None):
            return f"{info.title} page"
        if widget.windowTitle() and widget.isWindow() is False and hasattr(widget, "toggleViewAction"):
            return widget.windowTitle()  # a dock
        widget = widget.parentWidget()
    return "Everywhere"


def _describe(obj: QAction | QShortcut) -> str:
    if isinstance(obj, QAction):
        text = _clean(obj.text()) or _clean(obj.toolTip().split(" (", 1)[0])
    else:
        text = _clean(obj.whatsThis())
    return text or obj.objectName() or "(unnamed)"


def collect(window: QWidget) -> list[ShortcutEntry]:
    """Every shortcut of ``window`` (each QAction once, however many menus show it), sorted by place and keys."""
    seen: set[int] = set()
    out: list[ShortcutEntry] = []
    objects: list[QAction | QShortcut] = [*window.findChildren(QAction), *window.actions(),
                                          *window.findChildren(QShortcut)]
    for obj in objects:
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        sequences = obj.shortcuts() if isinstance(obj, QAction) else [obj.key()]
        context = obj.shortcutContext() if isinstance(obj, QAction) else obj.context()
        owner = _owner(obj, window) if obj.parent() is not window else window
        for sequence in sequences:
            if sequence.isEmpty():
                continue
            out.append(ShortcutEntry(sequence.toString(QKeySequence.SequenceFormat.PortableText), _describe(obj),
                                     _where(owner, window), owner, context in _WINDOW_WIDE))
    return sorted(out, key=lambda e: (e.where != "Everywhere", e.where, e.keys))


def _stack_branch(widget: QWidget) -> dict[int, int]:
    """For each QStackedWidget above ``widget``: which of its pages holds it (id(stack) → id(page))."""
    out: dict[int, int] = {}
    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QStackedWidget):
            out[id(parent)] = id(child)
        child, parent = parent, parent.parentWidget()
    return out


def _co_visible(a: QWidget, b: QWidget) -> bool:
    sa, sb = _stack_branch(a), _stack_branch(b)
    return all(sa[k] == sb[k] for k in sa.keys() & sb.keys())


def _contains(outer: QWidget, inner: QWidget) -> bool:
    return outer is inner or outer.isAncestorOf(inner)


def clashes(entries: list[ShortcutEntry]) -> list[tuple[ShortcutEntry, ShortcutEntry]]:
    """Pairs with the same keys that can be live at once (see the module docstring)."""
    found = []
    for i, a in enumerate(entries):
        for b in entries[i + 1:]:
            if a.keys != b.keys:
                continue
            if a.window_wide or b.window_wide:
                live = _co_visible(a.owner, b.owner)
            else:
                live = _contains(a.owner, b.owner) or _contains(b.owner, a.owner)
            if live:
                found.append((a, b))
    return found


class ShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: the table :func:`collect` reads from the window."""

    def __init__(self, window: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("ShortcutsDialog")
        self.resize(640, 560)
        self.entries = collect(window)
        intro = QLabel("Shortcuts marked with a page work while that page is shown and has the keyboard focus "
                       "(click in it or press Tab); the others work anywhere in the window.")
        intro.setWordWrap(True)
        intro.setObjectName("PageDescription")
        self.table = QTableWidget(len(self.entries), 3)
        self.table.setObjectName("ShortcutsTable")
        self.table.setHorizontalHeaderLabels(["Keys", "Does", "Where"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        for row, entry in enumerate(self.entries):
            for column, text in enumerate((entry.native_keys, entry.text, entry.where)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
