"""The `returns-ledger` front door: the GUI (default), ``--demo``, and headless subcommands.

Global options (``--data-dir``, ``--db``) are accepted before or after the subcommand. Heavy
imports (Qt, SQLAlchemy, the sandbox) happen inside the command that needs them, so that
``returns-ledger --help`` and headless commands start fast and never load Qt.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable, Sequence

from desktop import APP_NAME, __version__
from desktop.services.core.config import AppConfig, resolve_config

Handler = Callable[[argparse.Namespace, AppConfig], int]


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--data-dir", metavar="DIR", default=default,
                        help="where the app keeps its data (default: the per-user data directory)")
    parser.add_argument("--db", metavar="URL", default=default,
                        help="database URL (default: a SQLite file in the data directory); "
                             "e.g. postgresql+psycopg://user@host/dbname")


def _command_modules() -> list[str]:
    import desktop.commands

    return sorted(m.name for m in pkgutil.iter_modules(desktop.commands.__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="returns-ledger",
        description=f"{APP_NAME}: keep your returns system and QuickBooks Online / Xero in step.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(parser, suppress=False)
    parser.add_argument("--demo", action="store_true",
                        help="run against the embedded sandbox with a throwaway database")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation offscreen: services, database, keyring, the main window "
                             "and the embedded browser; exit 0, or 1 with what failed")
    parser.add_argument("--screenshots", metavar="DIR",
                        help="with --demo: write a PNG of every page to DIR and exit")
    parser.add_argument("--screenshot-size", metavar="WxH",
                        help="with --screenshots: the window size (default 1280x800)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    json_opt = argparse.ArgumentParser(add_help=False)
    json_opt.add_argument("--json", action="store_true", help="print machine-readable JSON")
    for name in _command_modules():
        importlib.import_module(f"desktop.commands.{name}").register(sub, common, json_opt)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the GUI or a command; every failure ends as a message and an exit code (see
    :mod:`desktop.services.core.failures`), never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    config: AppConfig | None = None
    stop_logging: Callable[[], None] | None = None
    try:
        config = resolve_config(args.data_dir, args.db, demo=args.demo)
        handler: Handler | None = getattr(args, "handler", None)
        if handler is not None:  # the GUI installs the same log file in its composition root
            stop_logging = _command_logging(config, args.command)
            code = handler(args, config)
            logging.getLogger(__name__).info("returns-ledger %s finished (exit %d)", args.command, code)
            return code
        from desktop.app import run_gui

        return run_gui(args, config)
    except BaseException as exc:  # the last line of defence: a clear message, not a traceback
        if isinstance(exc, SystemExit):
            raise
        return _fail(exc, config, getattr(args, "command", None) or "the app")
    finally:
        if stop_logging is not None:
            stop_logging()


def _command_logging(config: AppConfig, command: str) -> Callable[[], None]:
    """The data directory's redacting log file around one headless command (best effort)."""
    from desktop.commands import redact_url
    from desktop.services.core.logs import command_logging
    stop = command_logging(config.log_dir)
    logging.getLogger(__name__).info("returns-ledger %s %s started (data: %s, database: %s)", command, __version__,
                                     config.data_dir, redact_url(config.db_url))
    return stop


def _fail(exc: BaseException, config: AppConfig | None, what: str) -> int:
    import os
    import tempfile
    from pathlib import Path

    from desktop.services.core.events import redact_text
    from desktop.services.core.failures import explain, write_crash_report
    explained = explain(exc)
    if isinstance(exc, BrokenPipeError):
        # The reader went away (``… | head``): say nothing more on a closed pipe.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return explained.exit_code
    text = redact_text(explained.text())
    if explained.unexpected:
        base = config.data_dir if config is not None else Path(tempfile.gettempdir())
        report = write_crash_report(exc, base / "crash-reports", context=f"returns-ledger {what}") or \
            write_crash_report(exc, Path(tempfile.gettempdir()) / "returns-ledger-crash-reports",
                               context=f"returns-ledger {what}")
        text += f" (report: {report})" if report else " (no crash report could be written)"
    log = logging.getLogger(__name__)
    if log.hasHandlers():  # the log file (never logging's last resort, which prints tracebacks to stderr)
        if explained.unexpected:
            log.error("returns-ledger %s failed unexpectedly: %s", what, text,
                      exc_info=(type(exc), exc, exc.__traceback__))
        else:
            log.info("returns-ledger %s failed: %s (exit %d)", what, text, explained.exit_code)
    with contextlib.suppress(OSError):
        print(f"error: {text}", file=sys.stderr)
    return explained.exit_code
