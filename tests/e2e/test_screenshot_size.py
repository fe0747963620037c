"""``--screenshot-size`` is checked before anything starts: a wrong one is a usage message (exit 2)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import run_cli


def test_a_wrong_screenshot_size_is_refused_before_the_demo_starts(tmp_path: Path) -> None:
    done = run_cli("--demo", "--screenshots", str(tmp_path / "shots"), "--screenshot-size", "huge",
                   "--data-dir", str(tmp_path / "data"), timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--screenshot-size 'huge' is not a window size" in done.stderr and "1024x700" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "shots").exists()
