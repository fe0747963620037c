"""After a demo sync against the sandbox — the real commands, ``demo init`` then ``sync --once`` — every
document in the ledger is in the sealed audit trail (one entry each, plus one digest per posting run
that covers them), every write-back too, and ``audit verify`` passes. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.cli import main
from desktop.services.auth.vault import TokenVault
from desktop.services.core.clock import SystemClock
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog, LedgerConnection, OutboxDocument, OutboxStatus
from tests.helpers.sandbox import SandboxHandle

pytestmark = [pytest.mark.db, pytest.mark.slow]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_every_posted_document_is_sealed_and_the_trail_verifies(
        sandbox: SandboxHandle, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--data-dir", str(tmp_path / "data"), "--db", db_url]
    root = sandbox.control_url.rsplit("/_sandbox", 1)[0]
    code, _out = _run(capsys, "demo", "init", "--sandbox", root, "--json", *where)
    assert code == 0
    db = Database(db_url)
    try:
        code, out = _run(capsys, "sync", "--once", "--json", *where)
        assert code in (0, 1) and json.loads(out)["posted"] > 100

        with db.session() as s:
            posted = {key: (remote, org) for key, remote, org in s.execute(
                sa.select(OutboxDocument.idempotency_key, OutboxDocument.remote_id, OutboxDocument.organization_id)
                .where(OutboxDocument.status == OutboxStatus.POSTED))}
            entries = list(s.execute(sa.select(AuditLog.action, AuditLog.target, AuditLog.organization_id,
                                               AuditLog.details)))
            written_back = {r[0] for r in s.execute(sa.select(OutboxDocument.idempotency_key)
                                                    .where(OutboxDocument.written_back_at.is_not(None)))}
        sealed = Counter(target for action, target, _org, _d in entries if action == "document.posted")
        assert set(sealed) == set(posted) and set(sealed.values()) == {1}, "one entry per posted document"
        runs = [(org, d) for action, _t, org, d in entries if action == "sync.run"]
        assert sum(d["posted"] for _org, d in runs) == len(posted), "the run digests cover every posted document"
        for org in {o for _r, o in posted.values()}:
            mine = sorted((k, r) for k, (r, o) in posted.items() if o == org)
            digest = hashlib.sha256("".join(f"{k}={r}\n" for k, r in mine).encode()).hexdigest()
            assert [d["posted_digest"] for o, d in runs if o == org and d["posted"]] == [digest]
        told = {key for action, _t, _org, d in entries if action == "return.written_back" for key in d["documents"]}
        assert told == written_back and told

        code, out = _run(capsys, "audit", "verify", "--json", *where)
        report = json.loads(out)
        assert code == 0 and report["intact"] and report["entries"] == len(entries) and report["keyed_from"] == 1
    finally:
        with db.session() as s:
            refs = list(s.scalars(sa.select(LedgerConnection.credential_ref)))
        vault = TokenVault(SystemClock())
        for ref in refs:  # leave no demo grant in the keyring
            vault.forget(ref)
        db.dispose()
