"""The first-run set-up assistant: when it offers itself, and each step against real services.

A real database and keyring, the sandbox's RMS and ledgers over HTTP. The ledger step's sign-in is
the Connections page's own (tested there); here the world signs in through the same service and
the step shows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings, QThreadPool
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from desktop.services.auth.roles import Actor
from desktop.views.connections.dialog import ConnectDialog
from desktop.views.main_window import MainWindow
from desktop.views.ops import running_operations
from desktop.views.setup.assistant import LedgersPage, MappingPage, RmsPage, SchedulePage, SetupAssistant
from desktop.views.setup.launcher import DISMISSED
from tests.helpers.gui import page_context
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN, VIEWER, NoSteps, World


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[World]:
    with World(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        w.new_scheduler(NoSteps())
        yield w


@pytest.fixture
def make_window(qtbot: QtBot, world: World, settings: QSettings) -> Iterator[object]:
    windows: list[MainWindow] = []

    def make(actor: Actor = ADMIN, *, demo: bool = False) -> MainWindow:
        context = page_context(world, settings, actor=actor)
        context.demo = demo
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=30000)
    for window in windows:  # pytest-qt may have closed and deleted them already (its teardown runs first)
        if shiboken6.isValid(window):
            window.close()
    QThreadPool.globalInstance().waitForDone(10_000)


def _first(widget: object) -> str:
    """The first row's text of a list widget ("" while it is loading)."""
    item = widget.item(0)  # type: ignore[attr-defined]
    return item.text() if item is not None else ""


def _offered(qtbot: QtBot, window: MainWindow) -> bool:
    window.setup.offer_if_empty()
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=15000)
    return window.setup.assistant is not None and window.setup.assistant.isVisible()


def test_an_empty_installation_offers_the_assistant_once(qtbot: QtBot, make_window, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    assert _offered(qtbot, window)
    assistant = window.setup.assistant
    assert isinstance(assistant, SetupAssistant)
    assert assistant.buttonText(QWizard.WizardButton.CancelButton) == "Skip set-up"
    assistant.reject()  # "Skip set-up": remembered, and reachable from Help
    assert settings.value(DISMISSED) in (True, "true")
    assert not _offered(qtbot, window)
    window.menu_actions["assistant"].trigger()
    assert window.setup.assistant is not None and window.setup.assistant.isVisible()


def test_not_in_the_demo_nor_for_a_viewer(qtbot: QtBot, make_window) -> None:  # type: ignore[no-untyped-def]
    assert not _offered(qtbot, make_window(demo=True))
    assert not _offered(qtbot, make_window(VIEWER))


def test_not_once_anything_is_configured(qtbot: QtBot, make_window, world: World) -> None:  # type: ignore[no-untyped-def]
    world.connect("ACME-US", refresh_reference=False)
    assert not _offered(qtbot, make_window())


def test_each_step_against_the_real_services(qtbot: QtBot, make_window, world: World,  # type: ignore[no-untyped-def]
                                             sandbox: SandboxHandle) -> None:
    window = make_window()
    window.show_page_by_key("setup")  # what the Connections page's "Set-up assistant…" button asks for
    assistant = window.setup.assistant
    assert isinstance(assistant, SetupAssistant)
    qtbot.waitExposed(assistant)

    assistant.next()
    rms_page = assistant.currentPage()
    assert isinstance(rms_page, RmsPage)
    rms = sandbox.info["rms"]
    rms_page.form.url_edit.setText(rms["base_url"])
    rms_page.form.key_edit.setText(rms["api_key"])
    rms_page.save_button.click()
    qtbot.waitUntil(lambda: "returns system is connected" in rms_page.status.text(), timeout=15000)
    assert assistant.rms_orgs == ["ACME-US", "MAPLE-CA", "KIWI-NZ", "TEA-UK"]
    assert "sees 4 organizations" in rms_page.form.result_label.text()

    assistant.next()
    ledgers = assistant.currentPage()
    assert isinstance(ledgers, LedgersPage)
    qtbot.waitUntil(lambda: ledgers.list.count() == 1, timeout=10000)
    assert ledgers.list.item(0).text() == "No ledger connected yet."
    ledgers.connect_button.click()  # the Connections page's own dialog, offering the RMS's organizations
    assert isinstance(ledgers.connect_dialog, ConnectDialog)
    ledgers.connect_dialog.reject()
    world.connect("ACME-US")  # the same sign-in, with the sandbox's simulated consent
    ledgers.refresh()
    qtbot.waitUntil(lambda: _first(ledgers.list).startswith("ACME-US → QuickBooks Online"), timeout=10000)

    assistant.next()
    mapping = assistant.currentPage()
    assert isinstance(mapping, MappingPage)
    qtbot.waitUntil(lambda: "template qbo-us" in _first(mapping.list), timeout=10000)
    mapping.apply_button.click()
    qtbot.waitUntil(lambda: "Mapping version 1 saved from the qbo-us template" in mapping.status.text(),
                    timeout=15000)
    qtbot.waitUntil(lambda: "mapping version 1" in _first(mapping.list), timeout=10000)

    assistant.next()
    schedule = assistant.currentPage()
    assert isinstance(schedule, SchedulePage)
    schedule.combo.setCurrentIndex(schedule.combo.findData(300))
    schedule.save_button.click()
    qtbot.waitUntil(lambda: schedule.status.text() == "Saved: every 5 minutes for ACME-US.", timeout=10000)
    assert world.scheduler is not None
    assert [world.scheduler.interval("ACME-US", k) for k in ("ingest", "push", "pull")] == [300, 300, 300]

    assistant.next()
    done = assistant.steps["done"]
    qtbot.waitUntil(lambda: "Returns system: Connected" in done.summary.text(), timeout=10000)
    assert "ACME-US → QuickBooks Online, mapping version 1" in done.summary.text()
    with qtbot.waitSignal(assistant.finished, timeout=5000):
        assistant.accept()
