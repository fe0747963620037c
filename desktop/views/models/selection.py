"""Which row of its own model a table's current row is, through any proxies in between.

Grids filter and sort through proxy models; what a page acts on is the row of the model that holds
the data. Mapping back is written once, here, for every grid.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractProxyModel
from PySide6.QtWidgets import QAbstractItemView

__all__ = ["current_row"]


def current_row(view: QAbstractItemView) -> int | None:
    """The source model's row of ``view``'s current index (mapped through every proxy), or None
    when nothing is current."""
    index = view.selectionModel().currentIndex()
    if not index.isValid():
        return None
    model = view.model()
    while isinstance(model, QAbstractProxyModel):
        index = model.mapToSource(index)
        model = model.sourceModel()
    return index.row()
