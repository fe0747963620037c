"""Table columns that carry their own heading, and a small dot icon the grids share.

Every grid used to declare an ``IntEnum`` of columns and then, separately, a dict mapping each
member to its heading — the same names written twice, free to drift apart. A
:class:`HeadedColumn` member is declared once as ``NAME = "Heading"``: its integer value is its
position (the view's column number) and :attr:`HeadedColumn.header` is its heading.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap


class HeadedColumn(IntEnum):
    """An ``IntEnum`` of columns numbered in declaration order, each with its heading."""

    header: str

    if not TYPE_CHECKING:  # mypy would take ``__new__`` for the lookup ``Column(3)``; it is not
        def __new__(cls, header: str) -> HeadedColumn:
            member = int.__new__(cls, len(cls.__members__))
            member._value_ = len(cls.__members__)
            member.header = header
            return member

    @classmethod
    def headers(cls) -> tuple[str, ...]:
        """Headings in column order (what ``ListTableModel.headers`` and CSV exports want)."""
        return tuple(c.header for c in cls)


def dot_icon(cache: dict[str, QIcon], key: str, colour: str, *, size: int, radius: float) -> QIcon:
    """A filled dot of ``colour`` on a transparent ``size``×``size`` pixmap at 2× (for crisp
    HiDPI), drawn once per ``key`` into ``cache`` — only after the QApplication exists."""
    icon = cache.get(key)
    if icon is None:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawEllipse(QPointF(size / 2, size / 2), radius, radius)
        painter.end()
        pixmap.setDevicePixelRatio(2.0)
        icon = cache[key] = QIcon(pixmap)
    return icon

