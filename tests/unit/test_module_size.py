"""No module of the app grows past 600 lines: a module that big holds more than one idea (split it)."""

from __future__ import annotations

from pathlib import Path

LIMIT = 600
ROOT = Path(__file__).resolve().parents[2] / "desktop"


def test_no_module_is_over_the_limit() -> None:
    sizes = {p.relative_to(ROOT.parent).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in ROOT.rglob("*.py")}
    assert len(sizes) > 100  # the walk found the app
    assert {path: n for path, n in sizes.items() if n > LIMIT} == {}
