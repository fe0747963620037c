"""Finding and drawing the files under ``resources/``: style sheets and SVG icons.

Icons are single-colour line drawings whose SVG says ``currentColor``; they are recoloured here
for the active scheme and state, so one file serves light and dark, normal and selected.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

RESOURCES_DIR = Path(__file__).resolve().parents[2] / "resources"
#: The user guide (Markdown and its screenshots), shipped beside ``resources/``.
GUIDE_DIR = Path(__file__).resolve().parents[2] / "docs" / "guide"


def resource_path(relative: str) -> Path:
    """Absolute path of a file under ``resources/``; raises if it is missing (a broken install)."""
    path = RESOURCES_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(f"missing resource: {relative} (looked in {RESOURCES_DIR})")
    return path


def guide_path(page: str = "index.md") -> Path:
    """The user guide's ``page`` (Help → User guide); raises if it is missing (a broken install)."""
    path = GUIDE_DIR / page
    if not path.is_file():
        raise FileNotFoundError(f"missing user guide page: {page} (looked in {GUIDE_DIR})")
    return path


@lru_cache(maxsize=64)
def read_resource_text(relative: str) -> str:
    return resource_path(relative).read_text(encoding="utf-8")


def render_svg(name: str, colour: QColor | str, size: int, dpr: float = 1.0) -> QPixmap:
    """Render ``resources/icons/<name>.svg`` at ``size`` logical pixels in one colour."""
    svg = read_resource_text(f"icons/{name}.svg").replace("currentColor", QColor(colour).name())
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    pixels = max(1, round(size * dpr))
    pixmap = QPixmap(QSize(pixels, pixels))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, pixels, pixels))
    painter.end()
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


def tinted_icon(name: str, normal: QColor | str, selected: QColor | str | None = None,
                size: int = 20, dpr: float = 2.0) -> QIcon:
    """A QIcon whose normal and selected states use different colours (sidebar, buttons)."""
    icon = QIcon()
    icon.addPixmap(render_svg(name, normal, size, dpr), QIcon.Mode.Normal)
    icon.addPixmap(render_svg(name, selected or normal, size, dpr), QIcon.Mode.Selected)
    icon.addPixmap(render_svg(name, selected or normal, size, dpr), QIcon.Mode.Active)
    return icon


def app_icon() -> QIcon:
    """The application icon (full colour, not recoloured)."""
    return QIcon(str(resource_path("icons/app.svg")))
