"""One boundary for errors: what any failure means to a person, and the exit code it ends with.

Every user-facing entry point — each CLI command, the worker, the GUI's background operations —
passes an exception it did not expect to handle through :func:`explain`, which turns it into an
:class:`Explained` (what happened, what to do, an exit code) instead of a traceback. Only a
genuine bug is "unexpected": then :func:`write_crash_report` keeps the redacted traceback in a
file under the data directory, and the person is told where it is.

Exit codes (documented in the README):

==== =====================================================================================
0    done
1    finished, but with refusals or problems the output lists (per command)
2    needs a person: bad input, a setting or mapping to fix, a refused action
3    permission denied: the signed-in role may not do this
4    the database cannot be used (missing, corrupt, read-only, full, from a newer version, down)
5    a file or folder cannot be read or written (permissions, read-only, disk full)
6    the audit trail failed verification (``audit verify``): an entry was changed, removed,
     inserted or reordered, the end was cut off, or the checkpoint file was altered
70   unexpected error (a bug): a crash report was written
75   temporarily unavailable (network, ledger or RMS down, database locked, a write lost a race
     with another program): try again later
130  interrupted (Ctrl-C), or a long operation stopped on request
141  the output was closed early (``returns-ledger … | head``)
==== =====================================================================================
"""

from __future__ import annotations

import errno
import platform
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from desktop.services.core.errors import AppError, ErrorKind, PermissionDenied
from desktop.services.core.progress import OperationCancelled, write_file

__all__ = ["EXIT_CODES", "Explained", "explain", "write_crash_report"]

EXIT_CODES = {"ok": 0, "problems": 1, "needs_person": 2, "permission": 3, "database": 4, "file": 5,
              "audit_tampered": 6, "unexpected": 70, "transient": 75, "interrupted": 130, "closed_output": 141}


#: What to do, in the words of where the person is: a terminal (flags and commands) or the app's
#: windows (no flags to type). ``explain(exc, gui=True)`` picks the second column.
_SAY = {
    "other_db": ("point --db/--data-dir at another database",
                 "ask your administrator to point the app at another database"),
    "right_file": ("point --db/--data-dir at the right file",
                   "ask your administrator to point the app at the right database file"),
    "data_dir_perms": ("check the permissions of the data directory, or choose another with --data-dir",
                       "check the permissions of the app's data folder, or ask your administrator to move it"),
    "again": ("run the command again", "try again"),
    "space": ("free some space and run the command again", "free some space and try again"),
    "space_again": ("free some space, then run the command again; nothing half-written was kept",
                    "free some space, then try again; nothing half-written was kept"),
    "pg_address": ("check that PostgreSQL is running and the --db address is right, then try again",
                   "check that the database server is running, then try again"),
    "pg_signin": ("check the database user in --db and its password in the keyring",
                  "ask your administrator to check the app's database login and its password"),
    "pg_grant": ("ask an admin to give your login the role it needs "
                 "(`returns-ledger db roles --grant LOGIN ROLE`, run as the database's owner)",
                 "ask an admin to give your database login the role it needs"),
    "writable_dir": ("choose a writable data directory with --data-dir",
                     "ask your administrator to move the app's data folder somewhere writable"),
    "other_dir": ("check its permissions, or choose another data directory with --data-dir",
                  "check its permissions, or ask your administrator to move the app's data folder"),
}


def _say(key: str, gui: bool) -> str:
    return _SAY[key][1 if gui else 0]


@dataclass(frozen=True)
class Explained:
    """A failure in a person's words."""

    message: str
    action: str | None
    exit_code: int
    unexpected: bool = False

    def text(self) -> str:
        return f"{self.message} — {self.action}" if self.action else self.message


def _database(exc: BaseException, gui: bool) -> Explained | None:
    """SQLAlchemy / driver / Alembic errors, by what the person can do about them."""
    name = type(exc).__name__
    module = type(exc).__module__
    text = str(getattr(exc, "orig", None) or exc).lower()
    if module.startswith("alembic") or "can't locate revision" in text:
        if "can't locate revision" in text or "no such revision" in text:
            return Explained("This database was written by a newer version of Returns Ledger Sync",
                             f"install the newer version, or {_say('other_db', gui)}",
                             EXIT_CODES["database"])
        return Explained(f"The database could not be upgraded ({str(exc).splitlines()[0][:200]})",
                         f"restore a backup or {_say('other_db', gui)}", EXIT_CODES["database"])
    if not (module.startswith(("sqlalchemy", "sqlite3", "psycopg"))):
        return None
    if "deadlock detected" in text or "could not serialize access" in text:
        return Explained("Another program changed the same records at the same moment; nothing was saved",
                         _say("again", gui), EXIT_CODES["transient"])
    if name == "IntegrityError" and ("duplicate key" in text or "unique constraint failed" in text):
        return Explained("Another program saved the same record at the same moment; nothing was saved",
                         _say("again", gui), EXIT_CODES["transient"])
    if "database is locked" in text or "could not obtain lock" in text:
        return Explained("The database is busy with another program", "try again in a moment",
                         EXIT_CODES["transient"])
    if "file is not a database" in text or "malformed" in text or "not a database" in text:
        return Explained("The database file is damaged or is not a Returns Ledger Sync database",
                         f"restore it from a backup, or {_say('right_file', gui)}", EXIT_CODES["database"])
    if "readonly" in text or "read-only" in text or "unable to open database" in text:
        return Explained("The database cannot be written (read-only file or folder, or no permission)",
                         _say("data_dir_perms", gui),
                         EXIT_CODES["database"])
    if "disk is full" in text or "no space" in text or "disk i/o" in text:
        return Explained("The disk holding the database is full or failing",
                         _say("space_again", gui),
                         EXIT_CODES["database"])
    if "connection refused" in text or "could not connect" in text or "connection failed" in text \
            or "server closed the connection" in text or "terminating connection" in text:
        return Explained("The database server cannot be reached", _say("pg_address", gui), EXIT_CODES["transient"])
    if "password authentication failed" in text or ("role" in text and "does not exist" in text):
        return Explained("The database refused the sign-in", _say("pg_signin", gui), EXIT_CODES["database"])
    if "permission denied" in text or "row-level security" in text or "must be owner" in text:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return Explained(f"The database refused this to your PostgreSQL login ({first})",
                         _say("pg_grant", gui),
                         EXIT_CODES["permission"])
    if name in {"OperationalError", "DatabaseError", "InterfaceError", "InternalError", "ProgrammingError"}:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return Explained(f"The database could not be used ({first})",
                         "check the database; if it persists, restore a backup", EXIT_CODES["database"])
    return None


def _os(exc: OSError, gui: bool) -> Explained:
    where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    if exc.errno == errno.ENOSPC:
        return Explained(f"The disk is full{(' writing' + where) if where else ''}",
                         _say("space", gui), EXIT_CODES["file"])
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Explained(f"No permission to use{where or ' a file'}",
                         _say("other_dir", gui), EXIT_CODES["file"])
    if exc.errno == errno.EROFS:
        return Explained(f"{where.strip() or 'The data directory'} is on a read-only file system",
                         _say("writable_dir", gui), EXIT_CODES["file"])
    if exc.errno == errno.ENOENT:
        return Explained(f"There is no{where or ' such file'}", "check the path", EXIT_CODES["file"])
    return Explained(f"A file could not be used{where} ({exc.strerror or exc})", "check the path and its permissions",
                     EXIT_CODES["file"])


def explain(exc: BaseException, *, gui: bool = False) -> Explained:
    """What ``exc`` means to a person (never a traceback); see the module docstring for the codes.

    ``gui``: the person is in the app's windows, so "what to do" names no command-line flags."""
    if isinstance(exc, KeyboardInterrupt):
        return Explained("Interrupted", None, EXIT_CODES["interrupted"])
    if isinstance(exc, BrokenPipeError):
        return Explained("The output was closed before everything was written", None, EXIT_CODES["closed_output"])
    if isinstance(exc, PermissionDenied):
        return Explained(exc.message, exc.action, EXIT_CODES["permission"])
    if isinstance(exc, OperationCancelled):  # a person asked it to stop
        return Explained(exc.message, exc.action, EXIT_CODES["interrupted"])
    if isinstance(exc, AppError):
        code = EXIT_CODES["transient"] if exc.kind is ErrorKind.TRANSIENT else (
            EXIT_CODES["needs_person"] if exc.kind is ErrorKind.NEEDS_PERSON else EXIT_CODES["unexpected"])
        return Explained(exc.user_message().removesuffix(f" — {exc.action}") if exc.action else exc.user_message(),
                         exc.action, code, unexpected=exc.kind is ErrorKind.FATAL)
    found = _database(exc, gui)
    if found is not None:
        return found
    if isinstance(exc, OSError) and not _is_network(exc):
        return _os(exc, gui)
    if _is_network(exc):
        return Explained(f"A server could not be reached ({type(exc).__name__})",
                         "check the network and that the service is up, then try again", EXIT_CODES["transient"])
    if isinstance(exc, RecursionError):
        return Explained("The input is nested too deeply to read", "check that it is the file you meant",
                         EXIT_CODES["needs_person"])
    if isinstance(exc, MemoryError):
        return Explained("The input is too large to read in memory", "split it into smaller files",
                         EXIT_CODES["needs_person"])
    return Explained(f"Something went wrong that the app did not expect ({type(exc).__name__})",
                     "a crash report was written; send it to your support contact", EXIT_CODES["unexpected"],
                     unexpected=True)


def _is_network(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("requests", "urllib3", "http.client")) or isinstance(exc, ConnectionError | TimeoutError)


def write_crash_report(exc: BaseException, directory: Path, *, context: str = "") -> Path | None:
    """A redacted traceback in ``directory`` (created if needed); None if even that cannot be written."""
    from desktop import __version__
    from desktop.services.core.events import redact_text
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    body = (f"Returns Ledger Sync {__version__} crash report, {stamp}\n"
            f"Python {sys.version.split()[0]} on {platform.platform()}\n"
            f"While: {context or '-'}\n\n{redact_text(text)}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = write_file(directory / f"crash-{stamp}.txt", body, what="crash report")
    except OSError:
        return None
    return path
