"""The suite's own layout: test modules share code only through ``tests/helpers``.

Every ``tests/**/*.py`` is parsed (never imported) and its imports — at module level and inside
functions — are checked: none may come from another test module (``tests.….test_*``, or a bare
``test_*`` that pytest's rootdir-relative import would find) or from a ``conftest`` module (pytest
loads those itself; fixtures reach tests by name). ``tests/helpers`` holds no module pytest would
collect, so its builders never run as tests and never run twice.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
HELPERS = TESTS / "helpers"


def _is_test_module(name: str) -> bool:
    """Pytest's default ``python_files``: ``test_*.py`` and ``*_test.py``."""
    return name.startswith("test_") or name.endswith("_test")


def forbidden_imports(source: str, filename: str) -> list[str]:
    """``module:line imported-name`` for each import of a test module or a conftest in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from tests.integration import test_pull`` imports the test module by its last name
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.ImportFrom):  # relative: the suite has no packages to be relative in
            names = [f"{'.' * node.level}{node.module or ''}"]
        else:
            continue
        for name in names:
            parts = name.split(".")
            bare = len(parts) == 1 or parts[0] != "tests"
            if name.startswith(".") or any(p == "conftest" for p in parts) or \
                    (parts[0] == "tests" and any(_is_test_module(p) for p in parts[1:])) or \
                    (bare and _is_test_module(parts[0])):
                found.append(f"{filename}:{node.lineno} {name}")
                break
    return found


def test_no_module_imports_a_test_module_or_a_conftest() -> None:
    bad: list[str] = []
    for path in sorted(TESTS.rglob("*.py")):
        bad += forbidden_imports(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS.parent)))
    assert bad == [], "shared code belongs in tests/helpers, fixtures in a conftest:\n" + "\n".join(bad)


def test_helpers_hold_no_collected_test_module() -> None:
    assert HELPERS.is_dir() and (HELPERS / "__init__.py").is_file()
    collected = [str(p.relative_to(TESTS.parent)) for p in HELPERS.rglob("*.py") if _is_test_module(p.stem)]
    assert collected == []


def test_the_checker_catches_each_kind_of_import() -> None:
    src = "\n".join([
        "from tests.integration.test_pull import PullWorld",
        "from tests.integration import test_rms_ingest as base",
        "import tests.e2e.test_sync_cli",
        "from tests.conftest import _create_pg_database",
        "from tests.sandbox.conftest import SandboxHandle",
        "from test_qbo_support import Qbo",
        "from conftest import x",
        "from .helpers import y",
        "def f():\n    from tests.unit.test_recipes_support import fee",
    ])
    assert len(forbidden_imports(src, "t.py")) == 9
    fine = "\n".join(["from tests.helpers.worlds import World", "import tests.helpers", "from desktop import cli",
                      "from tests.helpers import sandbox", "import pytest"])
    assert forbidden_imports(fine, "t.py") == []
