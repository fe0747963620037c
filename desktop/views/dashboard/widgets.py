"""The Dashboard's pieces: trend charts, the queue table model and small formatters.

Charts take their colours from the widget palette (which the theme manager sets), and restyle on
a palette change, so light and dark both read well without hard-coded colours. Every widget here
only draws what it is handed: the data comes from :class:`desktop.services.queries.dashboard.DashboardService`
on a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCharts import (
    QAbstractBarSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QScatterSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QEvent, QMargins, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.services.queries.dashboard import QUEUE_STATES
from desktop.services.queries.metrics import Figures, format_duration, month_label
from desktop.views.models.list_table import ListTableModel

__all__ = ["QUEUE_MEANING", "QueueModel", "TrendChart", "format_at", "format_duration", "format_when", "month_label"]

QUEUE_MEANING = {
    "pending": "Waiting to be sent (or being sent now)",
    "posted": "In the ledger",
    "failed": "Will be retried automatically",
    "quarantined": "Needs a person: see Errors",
    "uncertain": "Sent, outcome unknown: checked before any re-send",
}
#: Mid-tone colours that read on both the light and the dark card (series only, never text).
SECOND_SERIES = QColor("#e0913a")



def format_at(at: datetime | None) -> str:
    """``07 Dec 09:12 UTC`` — how the app writes the time of a sync everywhere (or an em dash)."""
    return "—" if at is None else f"{at.astimezone(UTC):%d %b %H:%M} UTC"


def format_when(at: datetime | None, now: datetime) -> str:
    """Relative time ("3 min ago", "in 12 min") with :func:`format_at`'s time, or an em dash."""
    if at is None:
        return "—"
    delta = int((at - now).total_seconds())
    span = abs(delta)
    if span < 60:
        rel = "just now" if delta <= 0 else "in under a minute"
    else:
        amount = f"{span // 60} min" if span < 3600 else f"{span // 3600} h" if span < 86400 else f"{span // 86400} d"
        rel = f"in {amount}" if delta > 0 else f"{amount} ago"
    return f"{rel} · {format_at(at)}"


class TrendChart(QChartView):
    """One metric over the months: a line (accuracy %), or bars (hours, stacked counts)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrendChart")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        chart = QChart()
        chart.setTitle(title)
        chart.setMargins(QMargins(4, 4, 12, 4))
        layout = chart.layout()
        if layout is not None:
            layout.setContentsMargins(0, 0, 0, 0)  # the chart's frame lines up with the cards above
        self.setContentsMargins(0, 0, 0, 0)
        self.setFrameShape(QChartView.Shape.NoFrame)
        chart.setBackgroundRoundness(8)
        chart.legend().setVisible(False)
        self.setChart(chart)
        self.points: list[tuple[str, list[float]]] = []  # what is drawn (tests read it)
        self._restyle()

    def _restyle(self) -> None:
        pal = self.palette()
        chart = self.chart()
        text, muted = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.PlaceholderText)
        chart.setBackgroundBrush(pal.color(QPalette.ColorRole.Base))
        chart.setBackgroundPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        font = QFont(self.font())
        font.setBold(True)
        chart.setTitleFont(font)
        chart.setTitleBrush(text)
        chart.legend().setLabelColor(text)
        grid = QColor(muted)
        grid.setAlphaF(0.25)
        for axis in chart.axes():
            axis.setLabelsColor(muted)
            axis.setLinePenColor(grid)
            axis.setGridLineColor(grid)
        self.setBackgroundBrush(pal.color(QPalette.ColorRole.Window))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._restyle()
        super().changeEvent(event)

    def _reset(self, months: Sequence[str], y_max: float, y_format: str) -> tuple[QBarCategoryAxis, QValueAxis]:
        chart = self.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        x = QBarCategoryAxis()
        x.append([month_label(m) for m in months] or [" "])
        y = QValueAxis()
        y.setRange(0, y_max)
        y.setLabelFormat(y_format)
        y.setTickType(QValueAxis.TickType.TicksDynamic)
        y.setTickAnchor(0)
        y.setTickInterval(y_max / 4)
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        return x, y

    def show_line(self, months: Sequence[Figures], y_max: float = 100.0) -> None:
        """Accuracy %: months with nothing due leave a gap rather than a false zero."""
        x, y = self._reset([m.period for m in months], y_max, "%d%%")
        y.setRange(0, y_max * 1.06)  # head room, so a 100% point is not cut in half
        accent = self.palette().color(QPalette.ColorRole.Highlight)
        line, dots = QLineSeries(), QScatterSeries()
        line.setPen(QPen(accent, 2.5))
        line.setPointLabelsVisible(True)  # the figure itself, so 98.28% is not read as 100%
        line.setPointLabelsFormat("@yPoint%")
        line.setPointLabelsColor(self.palette().color(QPalette.ColorRole.WindowText))
        line.setPointLabelsClipping(False)
        dots.setColor(accent)
        dots.setBorderColor(accent)
        dots.setMarkerSize(9)
        values = []
        for i, m in enumerate(months):
            if m.accuracy_pct is None:
                continue
            value = float(Decimal(m.accuracy_pct))  # a chart coordinate, not money
            values.append(value)
            line.append(i, value)
            dots.append(i, value)
        for series in (line, dots):
            self.chart().addSeries(series)
            series.attachAxis(x)
            series.attachAxis(y)
        self.points = [("accuracy", values)]
        self._restyle()

    def show_bars(self, months: Sequence[str], sets: Sequence[tuple[str, Sequence[float]]], y_format: str,
                  *, stacked: bool = True) -> None:
        """Bars, one set per name (one set draws plain bars), stacked or side by side; a legend when several."""
        totals = [(sum if stacked else max)(vals[i] for _n, vals in sets) for i in range(len(months))]
        top = max(totals, default=0.0)
        x, y = self._reset(months, _nice_ceiling(top), y_format)
        series: QAbstractBarSeries = QStackedBarSeries() if stacked else QBarSeries()
        colours = [self.palette().color(QPalette.ColorRole.Highlight), SECOND_SERIES]
        for (name, vals), colour in zip(sets, colours, strict=False):
            bar = QBarSet(name)
            bar.setColor(colour)
            bar.setBorderColor(colour)
            bar.append(list(vals))
            series.append(bar)
        series.setBarWidth(0.55)
        self.chart().addSeries(series)
        series.attachAxis(x)
        series.attachAxis(y)
        self.chart().legend().setVisible(len(sets) > 1)
        self.chart().legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.points = [(name, list(vals)) for name, vals in sets]
        self._restyle()


def _nice_ceiling(value: float) -> float:
    """A round axis maximum a little above ``value``, at least 4, whose quarter (the tick step the
    axis draws) is itself round: 1, 2 or 5 × 10ⁿ — so the ticks read 0, 10, 20, 30, 40, never 12.5."""
    step = 1.0
    while True:
        for m in (1, 2, 5):
            if 4 * m * step >= value * 1.1:
                return 4 * m * step
        step *= 10


class QueueModel(ListTableModel):
    """The organization's outbox by state: five rows, always all of them (zeros included)."""

    headers = ("State", "Documents", "What it means")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, int]] = [(s, 0) for s in QUEUE_STATES]

    def set_counts(self, counts: dict[str, int]) -> None:
        self.beginResetModel()
        self._rows = [(s, int(counts.get(s, 0))) for s in QUEUE_STATES]
        self.endResetModel()

    def row_data(self, row: tuple[str, int], col: int, role: int) -> Any:
        state, count = row
        if role == Qt.ItemDataRole.DisplayRole:
            return (state.capitalize(), f"{count:,}", QUEUE_MEANING[state])[col]
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return (state, count, QUEUE_MEANING[state])[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and col == 1 and count and state in ("failed", "quarantined", "uncertain"):
            font = QFont()
            font.setBold(True)
            return font
        return None
