"""The end-to-end tests' sandbox runs as its own process, reached over HTTP like any outside service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.cli import sandbox_process


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """The root URL of ``returns-ledger sandbox serve``, one process per test module."""
    with sandbox_process() as url:
        yield url
