"""``returns-ledger reconcile``: the phases on a terminal's stderr (not with ``--json``), and Ctrl+C
between phases — nothing recorded, the reason on stderr, exit 130.

Ctrl+C is a real SIGINT sent while the ledger's documents are being compared with ours; the
command runs on this (the main) thread, so its handler has run before the next phase begins."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.cli import main
from desktop.services.core.failures import EXIT_CODES
from desktop.services.reconcile.engine import ReconcileEngine
from desktop.services.store.db import Database
from desktop.services.store.models import ReconciliationRun
from tests.helpers.sandbox import SandboxHandle

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORG = "ACME-US"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _runs(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(ReconciliationRun)) or 0)


def test_ctrl_c_records_nothing_and_the_bar_shows_only_on_a_terminal(
        sandbox: SandboxHandle, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--data-dir", str(tmp_path / "data"), "--db", db_url]
    root = sandbox.control_url.rsplit("/_sandbox", 1)[0]
    assert main(["demo", "init", "--sandbox", root, "--json", *where]) == 0
    today = datetime.now(UTC).date()
    args = ["reconcile", "--org", ORG, "--from", (today - timedelta(days=60)).isoformat(), "--to",
            today.isoformat(), *where]
    db = Database(db_url)
    try:
        real = ReconcileEngine.rms_returns

        def interrupted(self: ReconcileEngine, *a: Any, **kw: Any) -> Any:
            os.kill(os.getpid(), signal.SIGINT)  # the person presses Ctrl+C while the RMS mirror is read
            return real(self, *a, **kw)

        terminal = _Terminal()
        capsys.readouterr()
        with monkeypatch.context() as m:
            m.setattr(ReconcileEngine, "rms_returns", interrupted)
            m.setattr(sys, "stderr", terminal)
            code = main(args)
        out = capsys.readouterr().out
        assert code == EXIT_CODES["interrupted"] == 130 and "Traceback" not in out + terminal.getvalue()
        said = terminal.getvalue()
        assert f"\r[{'-' * 30}]   0 %  {ORG}: reading the ledger's documents for the period…" in said  # phase 1 of 6
        assert "Stopping; nothing will be recorded… (Ctrl+C again to stop at once)" in said
        assert f"The reconciliation of {ORG} was stopped on request; nothing was recorded" in said
        assert _runs(db) == 0

        for stream, extra in ((_Terminal(), ["--json"]), (io.StringIO(), [])):  # --json; no terminal
            with monkeypatch.context() as m:
                m.setattr(sys, "stderr", stream)
                code = main([*args, *extra])
            out = capsys.readouterr().out
            assert code == 0 and "\r" not in stream.getvalue()
            if extra:
                assert json.loads(out)["org"] == ORG
        assert _runs(db) == 2
    finally:
        db.dispose()
