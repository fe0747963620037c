"""Fixtures every directory shares: intolerant logging, real databases, and the sandbox emulators.

The implementations live in ``tests/helpers`` (``db``, ``sandbox``); this file only registers them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers.db import BACKENDS, database_url, migrated, unexpected_warnings
from tests.helpers.sandbox import SandboxHandle, reset_sandbox, serve_sandbox
from tests.helpers.waiting import patient_qtbot

if TYPE_CHECKING:
    from desktop.services.store.db import Database

# Headless Qt: no GPU. Without this Chromium (QtWebEngine) probes for one and warns, and the
# suite treats Qt warnings as failures. Set before any QApplication exists.
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")

# Every Qt wait ends when its event comes; its deadline only says when to give up (waiting.PATIENCE).
patient_qtbot()


#: The hang detector (pytest-timeout) of a ``slow`` test that names none of its own, in seconds. The
#: suite-wide 300 s (pyproject.toml) counts a module fixture's set-up against the first test, and a
#: slow module's fixture may run a whole drill: the fault drill took 256 s at a load of 12 and over
#: 300 s with a second suite alongside. Like every deadline here it detects a hang; it is not a timing.
SLOW_TIMEOUT_S = 1800


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked ``slow`` first (stable otherwise): with one worker per core taking a whole
    file at a time, a minutes-long file started last would leave the other worker idle at the end.
    Slow tests without a ``timeout`` mark of their own get :data:`SLOW_TIMEOUT_S`."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        if item.get_closest_marker("slow") is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """After a test's teardown (pytest-qt has closed its widgets and called ``deleteLater`` on them),
    really delete what was left for deletion. Outside a running event loop Qt never gets to those
    deferred deletes, so every window of every earlier test stayed alive, and each new theme
    restyled them all: a window's setup grew from 1 s to 18 s within one GUI module."""
    yield
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is not None:
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(autouse=True)
def _fail_on_unexpected_warning_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Any WARNING-or-worse log record a test did not ask for fails it (qutebrowser style)."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_log_warnings"):
        return
    failure = unexpected_warnings(caplog.get_records("call"))
    if failure:
        pytest.fail(failure, pytrace=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once for SQLite (a WAL-mode file) and once for PostgreSQL."""
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """``db_url`` migrated like the app's database at start-up (SQLite and PostgreSQL)."""
    with migrated(db_url) as database:
        yield database


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """One in-process sandbox server (QBO, Xero and RMS emulators) for the whole session."""
    with serve_sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Any) -> Iterator[SandboxHandle]:
    """The session's sandbox, reset to its seed before the test and its faults cleared after."""
    with reset_sandbox(sandbox_server.info) as handle:
        yield handle
