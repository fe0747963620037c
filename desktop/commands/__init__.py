"""Headless subcommands of ``returns-ledger``, one module each.

Every module here defines ``register(sub, common, json_opt)``, which adds its subparser(s)
with ``set_defaults(handler=...)``; a handler is ``(args, config) -> exit code``. The CLI
discovers the modules, so adding a command touches no shared file. Import heavy things inside
the handler, never at module level: ``returns-ledger --help`` must stay fast and Qt-free.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date

from desktop.services.core.config import AppConfig

Handler = Callable[[argparse.Namespace, AppConfig], int]


def emit(args: argparse.Namespace, data: object, text: str) -> None:
    """Print ``data`` as one JSON document with ``--json``, else the human text."""
    if getattr(args, "json", False):
        print(json.dumps(data, default=str))  # noqa: T201 - a CLI prints
    else:
        print(text)  # noqa: T201


def iso_date(text: str) -> date:
    """An argparse ``type`` for a calendar date: a wrong one is a usage error (exit 2), not a traceback."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a calendar date (YYYY-MM-DD, e.g. 2026-02-28)") from None


def redact_url(url: str) -> str:
    """Hide a password in a database URL before showing it."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
