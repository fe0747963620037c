"""A status cell drawn as a soft coloured pill with a dot, so a state reads at a glance.

Shared by the grids that show a state (connections, returns): a subclass names where its states'
colours come from (:attr:`PillDelegate.colours`, state → (label, colour)) and the role carrying
the state.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

Index = QModelIndex | QPersistentModelIndex
_GREY = "#7b8594"


class PillDelegate(QStyledItemDelegate):
    """Paints the cell's background as usual, then the text inside a pill of the state's colour."""

    colours: Mapping[str, tuple[str, str]] = {}
    state_role: int = int(Qt.ItemDataRole.UserRole)
    inset: int = 6

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        state = index.data(self.state_role)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget: QWidget | None = option.widget
        if widget is not None:
            widget.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        if not text or state is None:
            return
        colour = QColor(self.colours.get(str(state), ("", _GREY))[1])
        metrics = QFontMetrics(option.font)
        height = metrics.height() + 6
        width = metrics.horizontalAdvance(str(text)) + 30
        rect = option.rect
        pill = QRectF(rect.left() + self.inset, rect.center().y() - height / 2 + 0.5,
                      min(width, rect.width() - self.inset - 4), height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(colour)
        fill.setAlphaF(0.16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setBrush(colour)
        painter.drawEllipse(QPointF(pill.left() + 10, pill.center().y()), 3.5, 3.5)
        dark = option.palette.base().color().lightness() < 128
        painter.setPen(colour.lighter(135) if dark else colour.darker(125))
        painter.drawText(pill.adjusted(19, 0, -self.inset, 0),
                         int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), str(text))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        base = super().sizeHint(option, index)
        return QSize(base.width() + 36, max(base.height(), QFontMetrics(option.font).height() + 12))
