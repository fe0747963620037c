"""``sync --once --parallel N`` / ``worker --parallel N``: a bad N is refused with exit 2 and a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import run_cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("command", [("sync", "--once"), ("worker",)])
@pytest.mark.parametrize("value", ["0", "65", "four"])
def test_a_parallel_count_out_of_range_is_refused(tmp_path: Path, command: tuple[str, ...], value: str) -> None:
    proc = run_cli(*command, "--parallel", value, "--data-dir", str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "must be a whole number from 1 to 64" in proc.stderr and "Traceback" not in proc.stderr
