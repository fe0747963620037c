"""Losing a race on the database is 'try again' (exit 75), not a crash report (exit 70)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.core.failures import EXIT_CODES, explain


def _unique_violation(tmp_path: Path) -> sa.exc.IntegrityError:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'u.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (name TEXT UNIQUE)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('alice')"))
    try:
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError) as caught:
            conn.execute(sa.text("INSERT INTO t VALUES ('alice')"))
    finally:
        engine.dispose()
    return caught.value


def test_a_unique_key_lost_to_another_process_says_try_again(tmp_path: Path) -> None:
    explained = explain(_unique_violation(tmp_path))
    assert (explained.exit_code, explained.unexpected) == (EXIT_CODES["transient"], False)
    assert explained.text() == ("Another program saved the same record at the same moment; nothing was saved"
                                " — run the command again")


@pytest.mark.parametrize("message", ["deadlock detected", "could not serialize access due to concurrent update"])
def test_a_deadlock_or_serialisation_failure_says_try_again(message: str) -> None:
    exc = sa.exc.OperationalError("UPDATE users SET role = ?", {}, sqlite3.OperationalError(message))
    explained = explain(exc)
    assert explained.exit_code == EXIT_CODES["transient"] and not explained.unexpected
    assert explained.message.startswith("Another program changed the same records")


def test_other_integrity_errors_stay_unexpected(tmp_path: Path) -> None:
    exc = sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("NOT NULL constraint failed: t.name"))
    assert explain(exc).exit_code == EXIT_CODES["unexpected"]


def test_in_the_app_what_to_do_names_no_command_line_flags(tmp_path: Path) -> None:
    """The GUI's boundary asks for the app's words: a finance admin has no --db flag to type."""
    import errno

    failures = [
        sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("file is not a database")),
        sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("attempt to write a readonly database")),
        sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("connection refused")),
        sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("deadlock detected")),
        _unique_violation(tmp_path),
        OSError(errno.EROFS, "Read-only file system", str(tmp_path)),
        OSError(errno.EACCES, "Permission denied", str(tmp_path)),
        OSError(errno.ENOSPC, "No space left on device", str(tmp_path)),
    ]
    for exc in failures:
        cli, gui = explain(exc), explain(exc, gui=True)
        assert (cli.message, cli.exit_code) == (gui.message, gui.exit_code)
        assert gui.action and "--" not in gui.action and "command" not in gui.action, gui.action
    assert "--data-dir" in (explain(failures[0]).action or "")
