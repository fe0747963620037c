"""The `returns-ledger` front door: the GUI (default), ``--demo``, and headless subcommands.

Global options (``--data-dir``, ``--db``) are accepted before or after the subcommand. Heavy
imports (Qt, SQLAlchemy, the sandbox) happen inside the command that needs them, so that
``returns-ledger --help`` and headless commands start fast and never load Qt.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
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
                        help="build every service, open the main window offscreen, close, exit 0")
    parser.add_argument("--screenshots", metavar="DIR",
                        help="with --demo: write a PNG of every page to DIR and exit")
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
    try:
        config = resolve_config(args.data_dir, args.db, demo=args.demo)
        handler: Handler | None = getattr(args, "handler", None)
        if handler is not None:
            return handler(args, config)
        from desktop.app import run_gui

        return run_gui(args, config)
    except BaseException as exc:  # the last line of defence: a clear message, not a traceback
        if isinstance(exc, SystemExit):
            raise
        return _fail(exc, config, getattr(args, "command", None) or "the app")


def _fail(exc: BaseException, config: AppConfig | None, what: str) -> int:
    import os
    import tempfile
    from pathlib import Path

    from desktop.services.core.failures import explain, write_crash_report
    explained = explain(exc)
    if isinstance(exc, BrokenPipeError):
        # The reader went away (``… | head``): say nothing more on a closed pipe.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return explained.exit_code
    text = explained.text()
    if explained.unexpected:
        base = config.data_dir if config is not None else Path(tempfile.gettempdir())
        report = write_crash_report(exc, base / "crash-reports", context=f"returns-ledger {what}") or \
            write_crash_report(exc, Path(tempfile.gettempdir()) / "returns-ledger-crash-reports",
                               context=f"returns-ledger {what}")
        text += f" (report: {report})" if report else " (no crash report could be written)"
    with contextlib.suppress(OSError):
        print(f"error: {text}", file=sys.stderr)
    return explained.exit_code
