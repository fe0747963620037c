"""Connections: one ledger (QuickBooks Online or Xero) and the RMS per client organization."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from desktop.views.pages.base import Card, Page, PageInfo, label


class Monogram(QWidget):
    """A brand-neutral round badge with initials (we do not ship third-party logos)."""

    def __init__(self, text: str, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self._colour = QColor(colour)
        self.setFixedSize(QSize(40, 40))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._colour)
        painter.drawEllipse(QPointF(20, 20), 20, 20)
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(14)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._text)
        painter.end()


class ProviderTile(Card):
    """One kind of connection and its state."""

    def __init__(self, initials: str, colour: str, name: str, blurb: str, state: str) -> None:
        super().__init__()
        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(Monogram(initials, colour))
        names = QVBoxLayout()
        names.setSpacing(2)
        names.addWidget(label(name, "SectionTitle"))
        self.state_label = label(state, "Badge")
        names.addWidget(self.state_label, 0, Qt.AlignmentFlag.AlignLeft)
        top.addLayout(names, 1)
        self.layout_.addLayout(top)
        self.layout_.addSpacing(8)
        self.layout_.addWidget(label(blurb, "CardHint", wrap=True))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


class ConnectionsPage(Page):
    """Where organizations are connected; sign-in happens in an embedded browser."""

    info = PageInfo(
        key="connections", title="Connections", icon="connections",
        description=(
            "Connect each client organization's general ledger — QuickBooks Online or Xero — and your "
            "Returns Management System. Sign-in happens in an embedded browser; access tokens stay in "
            "the operating system's keyring, never in files or the database."
        ),
    )

    def build(self) -> None:
        self.tiles = [
            ProviderTile("QB", "#2ca01c", "QuickBooks Online",
                         "Credit memos, refund receipts and journal entries.", "Not connected"),
            ProviderTile("X", "#13b5ea", "Xero", "Credit notes, payments and manual journals.",
                         "Not connected"),
            ProviderTile("RMS", "#7a5af8", "Returns system",
                         "Returns pulled by cursor; accounting status written back.", "Not connected"),
        ]
        self.add_row(*self.tiles)
        self.add_empty_state(
            "No organizations connected",
            "Add an organization, choose its ledger and sign in. You can connect as many client "
            "organizations as you manage; each keeps its own mappings and schedule.",
        )
