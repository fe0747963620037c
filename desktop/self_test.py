"""``returns-ledger --self-test``: the checks that prove an installation works, besides the window.

The composition root runs these after building the services and before opening the window
offscreen (the window and the embedded browser are checked by :mod:`desktop.views.shell`):

- the database: migrated to the newest revision this build knows, and answering a query;
- the OS keyring: a throwaway entry written, read back and deleted (the same calls the token
  vault makes for ledger sign-ins).

Each check gives a one-line result; a failing one names what to do, and the self-test exits non-zero.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.services.auth.vault import TokenVault
    from desktop.services.store.db import Database
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'FAILED'} — {self.detail}"


def _database(database: Database, db_url: str, vault: TokenVault) -> CheckResult:
    import sqlalchemy as sa

    from desktop.services.store.migrate import current_revision, head_revision
    head, now = head_revision(), current_revision(db_url)
    if now != head:
        return CheckResult("database", False, f"at revision {now}, this build expects {head}; "
                                              "run `returns-ledger db upgrade`")
    with database.session() as s:
        s.execute(sa.text("SELECT 1")).scalar_one()
    return CheckResult("database", True, f"{database.dialect_name} at revision {now}")


def _keyring(database: Database, db_url: str, vault: TokenVault) -> CheckResult:
    from desktop.services.core.errors import AppError
    try:
        backend = vault.round_trip()
    except AppError as exc:
        action = f" — {exc.action}" if exc.action else ""
        return CheckResult("keyring", False, f"{exc}{action}")
    return CheckResult("keyring", True, f"{backend} stores, returns and deletes an entry")


def run_checks(database: Database, db_url: str, vault: TokenVault) -> list[CheckResult]:
    """The non-Qt checks over the services the app runs on, in order; an unexpected error is a
    failed check, not a crash."""
    results = []
    for check in (_database, _keyring):
        try:
            results.append(check(database, db_url, vault))
        except Exception as exc:  # reported as a failed check with its type; the log has the traceback
            log.exception("self-test check %s failed", check.__name__)
            results.append(CheckResult(check.__name__.strip("_"), False, f"{type(exc).__name__}: {exc}"))
    return results
