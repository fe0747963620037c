"""Structural tests read the app's own source: every module under ``desktop/`` (but the folders and
files allowed to differ), parsed once each, asked one question."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def findings(lines_of: Callable[[ast.AST], list[int]], allowed: tuple[str, ...] = ()) -> list[str]:
    """``path:line`` for every line ``lines_of`` names in a module under ``desktop/`` whose path does
    not start with one of ``allowed`` (repository-relative, ``/``-separated)."""
    found = []
    for path in sorted((ROOT / "desktop").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(allowed):
            found += [f"{rel}:{line}" for line in lines_of(ast.parse(path.read_text(encoding="utf-8")))]
    return found
