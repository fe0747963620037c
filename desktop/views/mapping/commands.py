"""Undo commands: every change to the edited rule list is one ``QUndoCommand`` (Ctrl+Z / Ctrl+Shift+Z).

One command type is enough: it holds the whole list before and after (rules are small frozen
values shared between the two tuples, so this costs references, not copies) and hands either to
``apply``. The rules model works out what actually changed, so the view keeps its place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtGui import QUndoCommand

from desktop.services.mapping.model import Rule

Apply = Callable[[tuple[Rule, ...], int], None]


class ReplaceRules(QUndoCommand):
    """Replace the rule list; ``row`` is the rule to select afterwards (-1: none)."""

    def __init__(self, text: str, before: Sequence[Rule], after: Sequence[Rule], apply: Apply,
                 row: int = -1) -> None:
        super().__init__(text)
        self.before = tuple(before)
        self.after = tuple(after)
        self._apply = apply
        self._row = row

    def redo(self) -> None:
        self._apply(self.after, self._row)

    def undo(self) -> None:
        self._apply(self.before, self._row if self._row < len(self.before) else -1)
