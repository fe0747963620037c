"""The audit key lives in the OS keyring (the real Secret Service) and moves between accounts only through
``audit key export`` / ``import``: a second account without it can neither verify nor write, and can
after importing it. The key never reaches the database or the trail."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import keyring
import keyring.errors
import pytest
import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.admin.audit_keys import AuditKeyMissing, AuditKeyring
from desktop.services.admin.audit_trail import AuditTrail
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import NeedsPersonError, PermissionDenied
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog
from tests.helpers.cli import run_cli_here

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ADMIN = Actor("alice", Role.ADMIN)


@pytest.fixture
def keyrings() -> Iterator[tuple[AuditKeyring, AuditKeyring]]:
    """Two accounts' keyrings (two keyring services in the test session's Secret Service)."""
    services = [f"rls-test-audit-{uuid.uuid4().hex[:10]}-{who}" for who in ("a", "b")]
    yield AuditKeyring(services[0]), AuditKeyring(services[1])
    for service in services:
        for user in ("audit-key", *(f"audit-key:{k}" for k in _ids(service))):
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                keyring.delete_password(service, user)


def _ids(service: str) -> list[str]:
    current = keyring.get_password(service, "audit-key")
    return [current] if current else []


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


def test_a_second_account_needs_the_key_and_gets_it_by_export_and_import(
        db: Database, keyrings: tuple[AuditKeyring, AuditKeyring], tmp_path: Path) -> None:
    a, b = keyrings
    clock = ManualClock(T0)
    with db.write_session() as s:
        for i in range(3):
            audit.append_at(s, clock.now(), actor="alice", action="mapping.changed", target=f"set {i}", keys=a)
    trail_a = AuditTrail(db, data_dir=tmp_path / "a", clock=clock, keys=a)
    trail_b = AuditTrail(db, data_dir=tmp_path / "b", clock=clock, keys=b)
    assert trail_a.verify(ADMIN).intact

    with pytest.raises(AuditKeyMissing, match="not in your keyring") as missing:
        trail_b.verify(Actor("bob", Role.VIEWER))
    assert "audit key import" in (missing.value.action or "")
    with pytest.raises(AuditKeyMissing), db.write_session() as s:  # nor can it write unsealed entries
        audit.append_at(s, clock.now(), actor="bob", action="user.added", keys=b)
    with pytest.raises(AuditKeyMissing), db.session() as s:  # what a sync checks before posting anything
        audit.require_key(s, keys=b)

    with pytest.raises(PermissionDenied):
        trail_a.export_key(Actor("vera", Role.VIEWER), "a file")
    text = trail_a.export_key(ADMIN, "a file")
    kid, chain = trail_b.import_key(Actor("bob", Role.OPERATOR), text)
    assert kid == chain

    assert trail_b.verify(Actor("bob", Role.VIEWER)).intact
    with db.session() as s:
        audit.require_key(s, keys=b)
    with db.write_session() as s:
        audit.append_at(s, clock.now(), actor="bob", action="user.added", target="carol", keys=b)
    report = trail_a.verify(ADMIN)
    assert report.intact and report.entries == 6
    with db.session() as s:
        actions = list(s.scalars(sa.select(AuditLog.action).order_by(AuditLog.seq)))
        stored = " ".join(str(v) for row in s.execute(sa.select(AuditLog.__table__)) for v in row)
    assert actions[3:5] == ["audit.key_exported", "audit.key_imported"]
    assert text.split(":")[2] not in stored, "the key itself is never written to the database"


def test_a_damaged_or_foreign_text_is_refused(keyrings: tuple[AuditKeyring, AuditKeyring]) -> None:
    a, _b = keyrings
    kid, key = a.current()
    good = a.export_text(key)
    for bad in ("hello", good.replace(kid, "0" * 16), good[:-6] + "AAAAA=", good.replace("v1", "v9")):
        with pytest.raises(NeedsPersonError):
            a.import_text(bad)


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # the CLI's own main() in this process: the process boundary is not what is tested
    return run_cli_here("audit", "key", *args, stdin=stdin)


def test_key_commands_write_an_owner_only_file_never_overwrite_and_read_it_back(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    target = tmp_path / "audit.key"
    done = _cli("export", str(target), *data)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert target.read_text().startswith("returns-ledger-audit-key-v1:")
    assert target.read_text().split(":")[2].strip() not in done.stdout + done.stderr

    again = _cli("export", str(target), *data)
    assert again.returncode == 2 and "exists already" in again.stderr

    imported = _cli("import", str(target), *data)
    assert imported.returncode == 0 and "Imported audit key" in imported.stdout, imported.stderr
    piped = _cli("import", "-", *data, stdin=target.read_text())
    assert piped.returncode == 0, piped.stderr
    refused = _cli("import", "-", *data, stdin="not a key\n")
    assert refused.returncode == 2 and "not an exported audit key" in refused.stderr
    assert "Traceback" not in refused.stderr
