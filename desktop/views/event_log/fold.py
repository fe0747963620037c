"""The error-log dock folded to its one-line bar, how it was left remembered, and its height kept modest.

- **Collapse / Expand** (the chevron at the end of the dock's bar) hides the grid and the details
  panel; the title, the filters and the counts (moved into the bar) stay, so a new error shows.
  Hiding the dock altogether stays View → Error log (Ctrl+L).
- :meth:`DockFold.save` / :meth:`DockFold.restore` keep whether it is folded and its unfolded
  height in QSettings, beside the window's own state (``QMainWindow.saveState`` keeps whether the
  dock is shown, where, and its current size) — so the window comes back as it was left.
- The dock never takes more than :data:`MAX_SHARE` of the window's height: on a 1024×700 window
  the page above stays the main thing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolButton, QWidget

from desktop.views.timers import single_shot_timer

__all__ = ["COLLAPSED_KEY", "DEFAULT_HEIGHT", "HEIGHT_KEY", "MAX_SHARE", "DockFold"]

COLLAPSED_KEY = "window/log_collapsed"
HEIGHT_KEY = "window/log_height"
DEFAULT_HEIGHT = 200
#: At most this share of the window's height goes to the dock.
MAX_SHARE = 0.36
_MIN_HEIGHT = 120
_NO_LIMIT = 16_777_215  # QWIDGETSIZE_MAX


class DockFold(QObject):
    """Folds ``dock`` by hiding ``body`` (showing ``folded_only`` instead); ``button`` says which way it goes."""

    def __init__(self, dock: QDockWidget, body: QWidget, button: QToolButton,
                 folded_only: QWidget | None = None) -> None:
        super().__init__(dock)
        self.dock = dock
        self.body = body
        self.button = button
        self.folded_only = folded_only
        if folded_only is not None:
            folded_only.setVisible(False)
        self.collapsed = False
        self.height = DEFAULT_HEIGHT  # the unfolded height to come back to
        self._cap_soon = single_shot_timer(self, 0, self.keep_modest)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)  # a chevron: the bar fits 760 px
        self._show_state()
        window = self._window()
        if window is not None:
            window.installEventFilter(self)

    def _window(self) -> QMainWindow | None:
        window = self.dock.parentWidget()
        return window if isinstance(window, QMainWindow) else None

    def _at_bottom(self) -> bool:
        window = self._window()
        return window is not None and not self.dock.isFloating() \
            and window.dockWidgetArea(self.dock) == Qt.DockWidgetArea.BottomDockWidgetArea

    def set_collapsed(self, collapsed: bool, *, remember: bool = True) -> None:
        """Fold or unfold; unfolding brings back the height it had (at most :data:`MAX_SHARE`)."""
        if collapsed == self.collapsed:
            return
        if collapsed and remember and self.dock.isVisible() and self._at_bottom():
            self.height = max(_MIN_HEIGHT, self.dock.height())
        self.collapsed = collapsed
        self.body.setVisible(not collapsed)
        if self.folded_only is not None:
            self.folded_only.setVisible(collapsed)
        if collapsed and self._at_bottom():
            for widget in (self.dock.widget(), self.dock):  # the hints without the body, now
                layout = widget.layout() if widget is not None else None
                if layout is not None:
                    layout.activate()
            self.dock.setMaximumHeight(self.dock.minimumSizeHint().height())
        else:
            self.dock.setMaximumHeight(_NO_LIMIT)
            window = self._window()
            if window is not None and self._at_bottom():
                window.resizeDocks([self.dock], [self.capped(self.height)], Qt.Orientation.Vertical)
        self._show_state()

    def _show_state(self) -> None:
        folded = self.collapsed
        self.button.setArrowType(Qt.ArrowType.UpArrow if folded else Qt.ArrowType.DownArrow)
        self.button.setText("Expand" if folded else "Collapse")
        self.button.setAccessibleName("Expand the error log" if folded else "Collapse the error log")
        self.button.setToolTip("Show the events and their details again" if folded else
                               "Fold the error log to this bar; hide it altogether with View → Error log (Ctrl+L)")

    def capped(self, height: int) -> int:
        window = self._window()
        limit = int(window.height() * MAX_SHARE) if window is not None and window.height() > 0 else height
        return max(_MIN_HEIGHT, min(height, limit))

    def expanded_height(self) -> int:
        """The height the dock has, or will have again when unfolded."""
        if self.collapsed or not self.dock.isVisible() or not self._at_bottom():
            return self.height
        return self.dock.height()

    def keep_modest(self) -> None:
        """Shrink an unfolded bottom dock taller than :data:`MAX_SHARE` of the window."""
        window = self._window()
        if window is None or self.collapsed or not self.dock.isVisible() or not self._at_bottom():
            return
        if self.dock.height() > self.capped(self.dock.height()):
            window.resizeDocks([self.dock], [self.capped(self.dock.height())], Qt.Orientation.Vertical)

    def settling(self) -> bool:
        """True while a cap is due (the window was resized or shown and has not been looked at yet)."""
        return self._cap_soon.isActive()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._cap_soon.start()  # after the window has laid its docks out
        return False

    # -- remembered across restarts ----------------------------------------------------------------
    def save(self, settings: QSettings) -> None:
        settings.setValue(COLLAPSED_KEY, self.collapsed)
        settings.setValue(HEIGHT_KEY, self.expanded_height())

    def restore(self, settings: QSettings) -> None:
        """Fold as it was left, with the unfolded height it had (after ``restoreState``)."""
        try:
            height = int(str(settings.value(HEIGHT_KEY, DEFAULT_HEIGHT)))
        except ValueError:
            height = DEFAULT_HEIGHT
        self.height = max(_MIN_HEIGHT, height)
        folded = str(settings.value(COLLAPSED_KEY, "false")).lower() in ("true", "1")
        self.set_collapsed(folded, remember=False)
