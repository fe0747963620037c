"""The mapping editor's tests share one world: built once per module, copied for each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.mapping_world import build_template, mapping_world
from tests.helpers.sandbox import reset_sandbox
from tests.helpers.worlds import World


@pytest.fixture(scope="module")
def template(sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world's database, built from the sandbox at its seed (once per module)."""
    path = tmp_path_factory.mktemp("mapping-world") / "template.sqlite3"
    with reset_sandbox(sandbox_server.info) as sandbox:
        build_template(path, sandbox)
    return path


@pytest.fixture
def world(template: Path, tmp_path: Path) -> Iterator[World]:
    """This test's copy of the template: database, clock, bus and the mapping service."""
    with mapping_world(template, tmp_path) as w:
        yield w
