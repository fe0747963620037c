"""What every page shares: a header (title + description), cards, and an empty state.

Pages are placeholders until their features land, but they are placeholders a finance admin can
read: each says what will be there and what to do first, with a button that goes there. Colours
come from the palette, so pages follow light/dark without knowing about the theme.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from PySide6.QtCore import QAbstractItemModel, QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.views.context import ShellContext
from desktop.views.pages.info import PageInfo
from desktop.views.resources import render_svg


def tint(colour: QColor, alpha: float) -> QColor:
    """``colour`` at ``alpha`` opacity (soft fills that work on light and dark backgrounds)."""
    result = QColor(colour)
    result.setAlphaF(alpha)
    return result


def label(text: str, name: str, *, wrap: bool = False, parent: QWidget | None = None) -> QLabel:
    widget = QLabel(text, parent)
    widget.setObjectName(name)
    widget.setWordWrap(wrap)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return widget


class Card(QFrame):
    """A rounded, bordered panel (styled by ``QFrame#Card`` in the QSS)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(20, 16, 20, 16)
        self.layout_.setSpacing(4)
        # Never squeeze a card below its size hint: wrapped text would be clipped, not reflowed
        # (a scroll area sizes its canvas by minimum sizes, which ignore height-for-width).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)


class MetricCard(Card):
    """One headline figure (dashboard). Shows an em dash until there is data."""

    def __init__(self, title: str, hint: str, value: str = "—", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = label(title, "CardTitle")
        self.value_label = label(value, "MetricValue")
        self.hint_label = label(hint, "CardHint", wrap=True)
        for w in (self.title_label, self.value_label, self.hint_label):
            self.layout_.addWidget(w)
        self.layout_.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


class CardRow(QWidget):
    """Cards side by side while they fit, then two (or one) to a row: a small window never scrolls
    sideways to reach the last figure. Each card keeps at least ``min_width``."""

    def __init__(self, cards: Iterable[QWidget], *, min_width: int = 220, spacing: int = 16,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cards = list(cards)
        self._min_width = min_width
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(spacing)
        self.columns = 0
        self._place(len(self._cards))

    def _place(self, columns: int) -> None:
        if columns == self.columns:
            return
        self.columns = columns
        for card in self._cards:
            self._grid.removeWidget(card)
        for i, card in enumerate(self._cards):
            self._grid.addWidget(card, i // columns, i % columns)
        for c in range(len(self._cards)):
            self._grid.setColumnStretch(c, 1 if c < columns else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        gap = self._grid.spacing()
        fits = max(1, (event.size().width() + gap) // (self._min_width + gap))
        n = len(self._cards)
        self._place(n if fits >= n else max(1, min(fits, (n + 1) // 2)))
        self._fit_heights(event.size().width())

    def _fit_heights(self, width: int) -> None:
        """Each card at least as tall as its wrapped text needs at the width it gets: a grid row asks
        its cards' minimum sizes, which know nothing of a hint that wraps to a third line, and the
        figures would be drawn over the hint."""
        gap = self._grid.spacing()
        card_width = max(1, (width - gap * (self.columns - 1)) // max(1, self.columns))
        needed = [layout.totalHeightForWidth(card_width) for card in self._cards
                  if (layout := card.layout()) is not None and layout.hasHeightForWidth()]
        tallest = max(needed, default=0)  # one height for all: a row of cards lines up
        for card in self._cards:
            if tallest and card.minimumHeight() != tallest:
                card.setMinimumHeight(tallest)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(self._min_width, hint.height())


class Illustration(QWidget):
    """A soft disc with the page's icon: the empty-state picture, drawn from palette colours."""

    def __init__(self, icon: str, diameter: int = 112, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icon = icon
        self._diameter = diameter
        self.setFixedSize(QSize(diameter + 24, diameter + 8))

    def paintEvent(self, event: QPaintEvent) -> None:
        accent = self.palette().color(QPalette.ColorRole.Highlight)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        d = self._diameter
        centre = QPointF(self.width() / 2, self.height() / 2)
        painter.setPen(Qt.PenStyle.NoPen)
        # Translucent accent, so the disc reads on whatever card or page colour is behind it.
        painter.setBrush(tint(accent, 0.12))
        painter.drawEllipse(centre, d / 2, d / 2)
        painter.setBrush(tint(accent, 0.20))
        painter.drawEllipse(centre, d * 0.34, d * 0.34)
        for dx, dy, r, alpha in ((-0.52, -0.30, 5, 0.50), (0.50, 0.34, 4, 0.40), (0.44, -0.44, 3, 0.35)):
            painter.setBrush(tint(accent, alpha))
            painter.drawEllipse(QPointF(centre.x() + dx * d, centre.y() + dy * d), r, r)
        size = round(d * 0.36)
        pixmap = render_svg(self._icon, accent, size, self.devicePixelRatioF())
        painter.drawPixmap(QRectF(centre.x() - size / 2, centre.y() - size / 2, size, size).toRect(), pixmap)
        painter.end()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.update()
        super().changeEvent(event)


class EmptyState(Card):
    """Illustration, one-line headline, a hint, and optionally a button that goes somewhere useful."""

    action_clicked = Signal()

    def __init__(self, icon: str, headline: str, hint: str, action: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_.setContentsMargins(32, 28, 32, 30)
        self.layout_.setSpacing(8)
        self.layout_.addWidget(Illustration(icon, 92), 0, Qt.AlignmentFlag.AlignHCenter)
        self.headline = label(headline, "EmptyHeadline")
        self.headline.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.hint = label(hint, "EmptyHint", wrap=True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        # A fixed width lets the layout compute the wrapped height (a maximum width alone does not).
        self.hint.setFixedWidth(480)
        self.layout_.addSpacing(4)
        self.layout_.addWidget(self.headline, 0, Qt.AlignmentFlag.AlignHCenter)
        # Centred through a row with stretches, not an alignment flag: an aligned item is asked for
        # its height at the full row width, so a wrapped label would get too few lines.
        hint_row = QHBoxLayout()
        hint_row.addStretch(1)
        hint_row.addWidget(self.hint)
        hint_row.addStretch(1)
        self.layout_.addLayout(hint_row)
        self.button: QPushButton | None = None
        if action:
            self.button = QPushButton(action)
            self.button.setObjectName("PrimaryButton")
            self.button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.button.clicked.connect(self.action_clicked)
            self.layout_.addSpacing(8)
            self.layout_.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)


class Page(QWidget):
    """Base page: scrolling canvas with the header; subclasses fill :meth:`build`.

    ``navigate_requested(key)`` asks the main window to show another page (e.g. an empty state's
    "Connect a ledger" button), so pages never reach into the window.
    """

    info: ClassVar[PageInfo]
    navigate_requested = Signal(str)

    def __init__(self, context: ShellContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName(f"page-{self.info.key}")
        scroll = QScrollArea(self)
        scroll.setObjectName("PageScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        canvas = QWidget()
        canvas.setObjectName("PageCanvas")
        scroll.setWidget(canvas)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.body = QVBoxLayout(canvas)
        self.body.setContentsMargins(40, 32, 40, 28)
        self.body.setSpacing(0)
        self.title_label = label(self.info.title, "PageTitle")
        self.description_label = label(self.info.description, "PageDescription", wrap=True)
        self.description_label.setMaximumWidth(820)
        self.body.addWidget(self.title_label)
        self.body.addSpacing(6)
        self.body.addWidget(self.description_label)
        self.body.addSpacing(24)
        self.build()
        self.body.addStretch(1)

    def build(self) -> None:
        """Add the page's own content below the header (override)."""

    def activated(self) -> None:
        """The page was just brought to the front: reload what may have changed (override).

        Runs on the GUI thread: start loads with ``run_in_background``, never do them here.
        """

    def add_row(self, *widgets: QWidget, spacing: int = 16) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(spacing)
        for w in widgets:
            row.addWidget(w)
        self.body.addLayout(row)
        self.body.addSpacing(20)
        return row

    def add_cards(self, *cards: QWidget, min_width: int = 220) -> CardRow:
        """Headline cards in a :class:`CardRow` (side by side while they fit, else wrapped)."""
        row = CardRow(cards, min_width=min_width)
        self.body.addWidget(row)
        self.body.addSpacing(20)
        return row

    def add_empty_state(self, headline: str, hint: str, action: str | None = None,
                        target: str | None = None, icon: str | None = None) -> EmptyState:
        state = EmptyState(icon or self.info.icon, headline, hint, action)
        if target is not None:
            state.action_clicked.connect(lambda: self.navigate_requested.emit(target))
        self.body.addWidget(state)
        return state


def toolbar(left: Iterable[QWidget], right: Iterable[QWidget] = (), *, spacing: int = 8) -> QHBoxLayout:
    """A page's bar: the ``left`` widgets (filters, the main actions), a stretch, then the ``right``
    ones (refresh, exports) against the right edge."""
    bar = QHBoxLayout()
    bar.setSpacing(spacing)
    for widget in left:
        bar.addWidget(widget)
    bar.addStretch(1)
    for widget in right:
        bar.addWidget(widget)
    return bar


def house_style(table: QTableView, row_height: int) -> QHeaderView:
    """Give ``table`` the grids' common look and return its column header for the caller's sizing.

    One row at a time, selected whole; alternating rows without grid lines, wrapping or row
    numbers, rows ``row_height`` tall; column titles left-aligned and never highlighted (a
    highlighted title reads as a sort or a filter that is not there).
    """
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(row_height)
    header = table.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setHighlightSections(False)
    return header


def busy_bar() -> QProgressBar:
    """A thin, hidden "working…" bar (no percentage: background loads cannot say how far they are)."""
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setMaximumWidth(140)
    bar.setMaximumHeight(10)
    bar.setTextVisible(False)
    bar.setVisible(False)
    return bar


def activity_row() -> tuple[QWidget, QProgressBar, QLabel, QLabel]:
    """A page's activity line: the busy bar, the status text (wrapping, it takes the room) and a
    short figure on the right (a count, a freshness). Returns the row and its three parts."""
    row_widget = QWidget()
    row = QHBoxLayout(row_widget)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(10)
    progress, status, aside = busy_bar(), status_label(wrap=True), status_label()
    row.addWidget(progress)
    row.addWidget(status, 1)
    row.addWidget(aside)
    return row_widget, progress, status, aside


def search_field(placeholder: str, *, min_width: int = 0, max_width: int | None = None) -> QLineEdit:
    """The pages' filter/search box: placeholder text, a clear button, and a sensible width."""
    edit = QLineEdit()
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    if min_width:
        edit.setMinimumWidth(min_width)
    if max_width is not None:
        edit.setMaximumWidth(max_width)
    return edit


def status_label(*, wrap: bool = False) -> QLabel:
    """An empty, muted ("CardHint") line for a page's progress and outcome messages."""
    widget = QLabel("")
    widget.setObjectName("CardHint")
    widget.setWordWrap(wrap)
    return widget


class StatusLine:
    """The activity line pages share: a busy bar beside a status text (mixed into a :class:`Page`).

    One place decides how "working…" and outcomes read, so every page shows them the same way.
    """

    #: The colour of an error outcome (the connections grid's "needs reconnect" red).
    error_colour: ClassVar[str] = "#dc3545"
    progress: QProgressBar
    status: QLabel

    def set_busy(self, message: str | None) -> None:
        """Show (message) or hide (None) the activity row's progress bar; the text stays readable."""
        self.progress.setVisible(message is not None)
        if message is not None:
            self.status.setText(message)

    def say(self, message: str, *, error: bool = False) -> None:
        """Stop the busy bar and show an outcome; errors in :attr:`error_colour`."""
        self.progress.setVisible(False)
        self.status.setText(f"<span style='color:{self.error_colour}'>{message}</span>" if error else message)


def plain_table(model: QAbstractItemModel, widths: tuple[int, ...], name: str) -> QTableView:
    """A read-only table styled like the pages' cards: whole rows, no grid, alternating rows."""
    table = QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = house_style(table, 32)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate(widths):
        header.resizeSection(column, width)
    header.setStretchLastSection(True)
    return table
