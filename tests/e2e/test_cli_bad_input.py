"""Bad input on the command line gets a clear message and a documented exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args, "--data-dir", str(tmp_path / "data")], cwd=ROOT,
                          text=True, capture_output=True, timeout=120, check=False)


@pytest.mark.parametrize(("args", "says"), [
    (("reconcile", "--org", "ACME-US", "--from", "2026-03-31", "--to", "2026-03-01"), "ends (2026-03-01) before it"),
    (("reconcile", "--org", "ACME-US", "--from", "2026-02-30", "--to", "2026-03-01"), "is not a calendar date"),
    (("fx", "set", "--org", "ACME-US", "--currency", "CAD", "--date", "2026-13-01", "--rate", "1.3"),
     "is not a calendar date"),
    (("fx", "set", "--org", "ACME-US", "--currency", "CAD", "--date", "2026-01-01", "--rate", "1e400"),
     "outside any real exchange rate"),
], ids=["period-backwards", "reconcile-no-such-day", "fx-no-such-month", "fx-absurd-rate"])
def test_refused_with_exit_2_and_a_message(tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    proc = _cli(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
