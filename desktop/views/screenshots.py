"""``--demo --screenshots DIR``: a PNG of every page, the main dialogs and a return's debit/credit preview
with its goods journal (``return-preview``), light and dark, for docs and review.

The user guide's pictures are made with ``--demo --screenshots docs/guide/images``;
``--screenshot-size WxH`` takes them at another window size for review (1024x700, 1600x1000).

The tour is a little state machine on ``QTimer.singleShot``: switch theme and page, let the real
event loop lay out and paint, grab, move on. Waiting this way (instead of ``processEvents()``)
means the pictures show exactly what a user would see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSize, QTimer, Signal
from PySide6.QtGui import QPixmap

from desktop.views.main_window import DEFAULT_SIZE, MainWindow
from desktop.views.theme import Scheme, ThemeManager, ThemeMode

log = logging.getLogger(__name__)
SIGN_IN = -1  # a step that pictures the sign-in dialog over the Connections page
PREVIEW = -2  # a step that pictures a return's debit/credit preview with its goods journal (issue 16)
#: Dialog steps (``<name>-<scheme>.png``): the RMS dialog and the set-up assistant's RMS and ledger steps.
DIALOGS = ("rms", "assistant-rms", "assistant-ledgers")


class ScreenshotTour(QObject):
    """Writes ``<page>-light.png`` and ``<page>-dark.png`` for every page; emits ``finished``."""

    finished = Signal()

    def __init__(self, window: MainWindow, theme: ThemeManager, directory: Path, *,
                 ready: Callable[[], bool] | None = None, settle_ms: int = 200,
                 ready_timeout_ms: int = 300_000, size: QSize | None = None) -> None:
        super().__init__(window)
        self._window = window
        self._theme = theme
        self._directory = directory
        self._ready = ready
        self._settle_ms = settle_ms
        self._waited_ms = 0
        self._ready_timeout_ms = ready_timeout_ms
        self._size = size or DEFAULT_SIZE
        self._steps: list[tuple[Scheme, int | str]] = [(scheme, index) for scheme in (Scheme.LIGHT, Scheme.DARK)
                                                       for index in range(len(window.pages))]
        self._steps += [(scheme, name) for scheme in (Scheme.LIGHT, Scheme.DARK) for name in DIALOGS]
        self._steps += [(scheme, SIGN_IN) for scheme in (Scheme.LIGHT, Scheme.DARK)]
        self._steps += [(scheme, PREVIEW) for scheme in (Scheme.LIGHT, Scheme.DARK)]
        self._example: object | None = None  # the return the preview shows, chosen once (screenshot_preview)
        self.written: list[Path] = []
        self.error: str | None = None

    def start(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        self._window.resize(self._size)
        self._wait_until_ready()

    def _is_ready(self) -> bool:
        sandbox_up = self._ready is None or self._ready()
        return sandbox_up and self._window.history_state != "loading"

    def _wait_until_ready(self) -> None:
        if self._is_ready():
            QTimer.singleShot(self._settle_ms, self._next)  # let the last events reach the log pane
            return
        if self._waited_ms >= self._ready_timeout_ms:
            self._fail("the demo data was not ready in time")
            return
        self._waited_ms += 50
        QTimer.singleShot(50, self._wait_until_ready)

    def _next(self) -> None:
        if not self._steps:
            self.finished.emit()
            return
        scheme, index = self._steps.pop(0)
        self._theme.set_mode(ThemeMode(scheme.value))
        if index == SIGN_IN:
            self._grab_sign_in(scheme)
            return
        if index == PREVIEW:
            self._grab_preview(scheme)
            return
        if isinstance(index, str):
            self._grab_dialog(scheme, index)
            return
        page = self._window.pages[index]
        if self._window.current_page is page:
            page.activated()  # already in front (the first page): load what the demo set up meanwhile
        self._window.show_page(index)
        QTimer.singleShot(self._settle_ms, lambda: self._when_idle(lambda: self._grab(scheme, index)))

    def _when_idle(self, then: Callable[[], None], waited_ms: int = 0) -> None:
        """Grab once the page's background loads have delivered and the layout has taken them in (at most
        a minute of waiting: on a busy machine a page's reads take longer than a fixed pause)."""
        from desktop.views.ops import running_operations

        if running_operations() == 0 or waited_ms >= 60_000:
            QTimer.singleShot(self._settle_ms, then)  # the delivered data's layout requests run first
            return
        QTimer.singleShot(50, lambda: self._when_idle(then, waited_ms + 50))

    def _grab(self, scheme: Scheme, index: int) -> None:
        page = self._window.pages[index]
        self._save(self._window.grab(), f"{page.info.key}-{scheme.value}.png")

    def _grab_sign_in(self, scheme: Scheme) -> None:
        """``login-<scheme>.png``: the embedded sign-in (the sandbox's consent page) over Connections."""
        from desktop.views.connections.preview import SignInShot
        from desktop.views.pages.connections import ConnectionsPage

        self._window.show_page_by_key("connections")
        page = self._window.current_page
        if not isinstance(page, ConnectionsPage):
            self._fail("there is no Connections page to sign in from")
            return
        shot = SignInShot(self._window, page)
        shot.finished.connect(lambda pixmap: self._save(pixmap, f"login-{scheme.value}.png"))
        QTimer.singleShot(self._settle_ms, shot.start)

    def _grab_preview(self, scheme: Scheme) -> None:
        """``return-preview-<scheme>.png``: a demo return's debit/credit preview with its goods journal
        (Dr inventory asset, Cr cost of goods sold), chosen by content once, in the background."""
        from desktop.views.ops import run_in_background
        from desktop.views.returns.services import services_for
        from desktop.views.screenshot_preview import GoodsExample, PreviewShot, goods_example

        def shoot(example: GoodsExample | None) -> None:
            if example is None:
                self._fail("no demo return has a goods journal to preview")
                return
            self._example = example
            shot = PreviewShot(self._window, example, settle_ms=max(self._settle_ms, 300))
            shot.finished.connect(lambda pixmap: self._save(pixmap, f"return-preview-{scheme.value}.png"))
            QTimer.singleShot(self._settle_ms, shot.start)

        if isinstance(self._example, GoodsExample):
            shoot(self._example)
            return
        services = services_for(self._window.context)
        if services is None:
            self._fail("there are no returns to preview")
            return
        run_in_background(self, lambda _p: goods_example(services.query, services.manual), on_success=shoot,
                          on_failure=lambda exc: self._fail(f"could not choose a return to preview: {exc}"),
                          label="choose a return to preview")

    def _grab_dialog(self, scheme: Scheme, name: str) -> None:
        """``<name>-<scheme>.png``: one of :data:`DIALOGS` over the window (see ``screenshot_dialogs``)."""
        from desktop.views.screenshot_dialogs import assistant_shot, rms_dialog_shot

        shot = rms_dialog_shot(self._window) if name == "rms" else \
            assistant_shot(self._window, name.removeprefix("assistant-"))
        shot.finished.connect(lambda pixmap: self._save(pixmap, f"{name}-{scheme.value}.png"))
        QTimer.singleShot(self._settle_ms, shot.start)

    def _save(self, pixmap: QPixmap | None, name: str) -> None:
        """Write ``pixmap`` as ``name`` in the directory and go on to the next shot (or stop, failed)."""
        path = self._directory / name
        if pixmap is None or not pixmap.save(str(path), "PNG"):
            self._fail(f"could not write {path}")
            return
        self.written.append(path)
        log.info("screenshot %s", path)
        self._next()

    def _fail(self, message: str) -> None:
        self.error = message
        self._steps.clear()
        self.finished.emit()
