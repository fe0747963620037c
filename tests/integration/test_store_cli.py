"""``returns-ledger db upgrade`` through the real CLI, in subprocesses, on both databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.services.store import migrate

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "desktop", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _run(*args: str) -> str:
    proc = _cli(*args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def test_db_upgrade_with_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"

    out = _run("db", "upgrade", "--data-dir", str(data_dir))

    assert out.strip() == f"Database is at revision {migrate.head_revision()}."
    db_file = data_dir / "returns-ledger.sqlite3"
    assert db_file.is_file()
    assert migrate.current_revision(f"sqlite:///{db_file}") == migrate.head_revision()
    # Running it again is harmless and says the same.
    assert _run("db", "upgrade", "--data-dir", str(data_dir), "--json") == (
        json.dumps({"database": f"sqlite:///{db_file}", "revision": migrate.head_revision()}) + "\n"
    )


def test_db_upgrade_with_db_url(db_url: str, tmp_path: Path) -> None:
    """``--db`` (PostgreSQL or a SQLite URL); two processes at once must both succeed."""
    procs = [_cli("db", "upgrade", "--db", db_url, "--data-dir", str(tmp_path / f"d{i}"), "--json")
             for i in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]

    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert json.loads(out)["revision"] == migrate.head_revision()
    assert migrate.current_revision(db_url) == migrate.head_revision()
