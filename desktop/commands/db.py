"""``returns-ledger db upgrade``: apply database migrations."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.commands import emit, redact_url
from desktop.services.core.config import AppConfig


def _upgrade(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.store.migrate import upgrade
    config.ensure_dirs()
    revision = upgrade(config.db_url)
    emit(args, {"database": redact_url(config.db_url), "revision": revision},
         f"Database is at revision {revision}.")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", help="database maintenance", parents=[common])
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    actions.add_parser("upgrade", help="apply database migrations",
                       parents=[common, json_opt]).set_defaults(handler=_upgrade)
