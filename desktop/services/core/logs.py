"""The app's log file: one rotating, UTC-stamped, redacting handler for the GUI and every command.

``DATA_DIR/logs/returns-ledger.log`` (5 MB, five older files kept). Every record passes through
:class:`RedactingFilter` — the same masking the event log uses (:func:`~desktop.services.core.events.redact_text`)
— so a token that slips into a message, its arguments or a traceback never reaches the file.

The GUI's composition root installs it for the life of the window (:func:`configure_file_logging`);
the CLI installs it around each headless command (:func:`command_logging`), best effort: a data
directory that cannot be written must still end in the command's own clear message, not in a
logging error. A record the file cannot take (disk full, file locked) is dropped silently rather
than printed to standard error with a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

from desktop.services.core.events import redact_text

__all__ = ["LOG_FILE", "RedactingFilter", "command_logging", "configure_file_logging"]

LOG_FILE = "returns-ledger.log"
MAX_BYTES = 5_000_000
BACKUPS = 5


class RedactingFilter(logging.Filter):
    """Masks credentials in every record a handler writes (message, arguments and traceback).

    Services already keep secrets out of what they log; this is the belt to their braces, so a
    token that slips into an exception message still never reaches the log file.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class _QuietRotatingFileHandler(RotatingFileHandler):
    """A record that cannot be written is lost, never a ``--- Logging error ---`` traceback on stderr."""

    def handleError(self, record: logging.LogRecord) -> None:
        return


def configure_file_logging(log_dir: Path, level: int = logging.INFO) -> Callable[[], None]:
    """Rotating UTC-stamped log file in ``log_dir``; returns a function that removes it again."""
    handler = _QuietRotatingFileHandler(log_dir / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                        encoding="utf-8")
    formatter = logging.Formatter("%(asctime)sZ %(levelname)-8s %(name)s [%(threadName)s] %(message)s")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    root = logging.getLogger()
    previous = root.level
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    root.addHandler(handler)

    def remove() -> None:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous)

    return remove


def command_logging(log_dir: Path, level: int = logging.INFO) -> Callable[[], None]:
    """:func:`configure_file_logging` for a headless command, best effort: when ``log_dir`` cannot
    be created or opened the command runs without a log file (and fails, if it must, with its own
    message about the folder). Returns the function that removes the handler."""
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        return configure_file_logging(log_dir, level)
    except OSError:
        return _nothing


def _nothing() -> None:
    return None
