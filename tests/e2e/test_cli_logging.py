"""Headless commands write the data directory's log file through the same redacting handler as the GUI."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from desktop.services.core.failures import EXIT_CODES
from desktop.services.core.logs import BACKUPS, LOG_FILE, MAX_BYTES, RedactingFilter, command_logging

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

#: Token-shaped secrets: a database password, an OAuth refresh token, a bearer JWT.
DB_PASSWORD = "tok_9f3c2a7e1b8d4c6f0a5e7d21"
REFRESH = "RT1-8f3a9c2e7b1d4f6a0c9e2b7d"
BEARER = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJybHMifQ.c2lnbmF0dXJl"


def _run(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "desktop", *args]
    return subprocess.run(command, cwd=ROOT, text=True, capture_output=True, timeout=120, check=False)


def test_a_command_logs_to_the_data_directory_without_the_database_password(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"postgresql+psycopg://rls:{DB_PASSWORD}@127.0.0.1:1/none"  # nothing listens on port 1

    first = _run("connections", "--data-dir", str(data), "--db", url)
    second = _run("connections", "--json", "--data-dir", str(data), "--db", url)

    assert first.returncode == second.returncode == EXIT_CODES["transient"], first.stderr
    log = (data / "logs" / LOG_FILE).read_text(encoding="utf-8")
    assert log.count("returns-ledger connections 0.") == 2  # appended, one start line per command
    assert "postgresql+psycopg://rls:***@127.0.0.1:1/none" in log
    assert "returns-ledger connections failed: The database server cannot be reached" in log
    for out in (log, first.stdout, first.stderr, second.stdout, second.stderr):
        assert DB_PASSWORD not in out
    assert "Traceback" not in first.stderr + second.stderr


def test_an_unexpected_failure_is_logged_with_its_traceback_and_no_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # A real command whose services fail with credentials in the exception's text (a bug).
    code = textwrap.dedent(f"""
        import sys
        import desktop.services.runtime as runtime
        def broken(config):
            raise RuntimeError("refresh failed: refresh_token={REFRESH}&x=1 Authorization: Bearer {BEARER}")
        runtime.open_runtime = broken
        from desktop.cli import main
        sys.exit(main(sys.argv[1:]))
    """)

    proc = _run("connections", "--data-dir", str(data), code=code)

    assert proc.returncode == EXIT_CODES["unexpected"], proc.stderr
    assert "Traceback" not in proc.stderr and "crash report was written" in proc.stderr
    log = (data / "logs" / LOG_FILE).read_text(encoding="utf-8")
    assert "returns-ledger connections failed unexpectedly" in log
    assert "Traceback (most recent call last)" in log and "RuntimeError: refresh failed: refresh_token=***" in log
    [report] = (data / "crash-reports").glob("crash-*.txt")
    for out in (log, report.read_text(encoding="utf-8"), proc.stdout, proc.stderr):
        assert REFRESH not in out and BEARER not in out


def test_the_command_log_rotates_and_redacts(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    remove = command_logging(tmp_path / "logs")
    try:
        [handler] = [h for h in root.handlers if h not in before]
        assert isinstance(handler, RotatingFileHandler)
        assert (handler.maxBytes, handler.backupCount) == (MAX_BYTES, BACKUPS) and MAX_BYTES > 0 and BACKUPS > 0
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    finally:
        remove()
    assert root.handlers == before


def test_a_folder_that_cannot_hold_a_log_leaves_the_command_its_own_message() -> None:
    # /sys refuses new entries even to root: logging is skipped, the command says what is wrong.
    proc = _run("connections", "--data-dir", "/sys/returns-ledger-test")
    assert proc.returncode == EXIT_CODES["file"], proc.stderr
    assert "/sys/returns-ledger-test" in proc.stderr and "Traceback" not in proc.stderr
    assert "Logging error" not in proc.stderr
