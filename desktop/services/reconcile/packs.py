"""Saving an audit pack for the Reconciliation page, which holds no database of its own."""

from __future__ import annotations

from pathlib import Path

from desktop.services.reconcile import audit_pack
from desktop.services.store.db import Database

__all__ = ["AuditPacks"]


class AuditPacks:
    """Builds one return's audit pack (:func:`audit_pack.build`) and writes it as JSON."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, org: str, rma: str, path: Path) -> Path:
        """RMS record → mapping version → payload → ledger response → status, into ``path``."""
        return audit_pack.write(audit_pack.build(self._db, org, rma), path)
