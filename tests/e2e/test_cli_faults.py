"""Broken databases, unusable folders, a closed output and unexpected bugs: every one ends as a
message and a documented exit code (``desktop.services.core.failures``), never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import _fail
from desktop.services.core.failures import EXIT_CODES, explain
from desktop.services.store import migrate

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _cli(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], cwd=ROOT, text=True, capture_output=True,
                          timeout=120, check=False, **kw)  # type: ignore[call-overload]


def _assert_clean(proc: subprocess.CompletedProcess[str], code: int, says: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert says in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "data" / "returns-ledger.sqlite3"
    bad.parent.mkdir()
    bad.write_bytes(b"this is a spreadsheet, not a database" * 100)
    _assert_clean(_cli("connections", "--data-dir", str(tmp_path / "data")), EXIT_CODES["database"], "damaged")


def test_a_truncated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrate.upgrade(url)
    data = (tmp_path / "db.sqlite3").read_bytes()
    (tmp_path / "db.sqlite3").write_bytes(data[: len(data) // 3])
    proc = _cli("connections", "--db", url, "--data-dir", str(tmp_path / "data"))
    assert proc.returncode == EXIT_CODES["database"], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_database_from_a_newer_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrate.upgrade(url)
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    _assert_clean(_cli("connections", "--db", url, "--data-dir", str(tmp_path / "data")), EXIT_CODES["database"],
                  "newer version")


def test_postgresql_down(tmp_path: Path) -> None:
    proc = _cli("connections", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "--data-dir",
                str(tmp_path / "data"))
    _assert_clean(proc, EXIT_CODES["transient"], "database server cannot be reached")


def test_a_data_directory_that_cannot_be_written() -> None:
    # /sys refuses new entries even to root: the closest stand-in for a read-only folder in CI.
    _assert_clean(_cli("connections", "--data-dir", "/sys/returns-ledger-test"), EXIT_CODES["file"],
                  "/sys/returns-ledger-test")


def test_output_closed_early_is_quiet(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line: like `… | head -0`
    try:
        proc = subprocess.run([sys.executable, "-m", "desktop", "connections", "--json", "--data-dir",
                               str(tmp_path / "data")], cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE,
                              text=True, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert proc.returncode == EXIT_CODES["closed_output"], proc.stderr
    assert proc.stderr == ""


@pytest.mark.allow_log_warnings  # the crash is logged at ERROR, as it should be
def test_an_unexpected_bug_writes_a_redacted_crash_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from desktop.services.core.config import resolve_config
    config = resolve_config(str(tmp_path), None, demo=False)
    try:
        raise RuntimeError("boom with Bearer eyJhbGciOiJIUzI1NiJ9.secret-token-value")
    except RuntimeError as exc:
        code = _fail(exc, config, "sync")
    assert code == EXIT_CODES["unexpected"]
    err = capsys.readouterr().err
    assert "crash report was written" in err and "Traceback" not in err
    [report] = (tmp_path / "crash-reports").glob("crash-*.txt")
    text = report.read_text(encoding="utf-8")
    assert str(report) in err and "RuntimeError" in text and "Traceback" in text
    assert "secret-token-value" not in text


def test_every_exit_code_is_distinct_and_permission_is_3() -> None:
    from desktop.services.core.errors import PermissionDenied, TransientError
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    assert explain(PermissionDenied("no")).exit_code == 3
    assert explain(TransientError("later")).exit_code == 75
    assert explain(RecursionError()).exit_code == 2
