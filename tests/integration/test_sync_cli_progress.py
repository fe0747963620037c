"""``returns-ledger sync --once``: a progress bar on a terminal's stderr only — none with ``--json``, none
without a terminal — and Ctrl+C stops between outbox batches: what posted stays posted, exit 130.

The real commands in this process (``demo init`` against the sandbox, then ``sync --once``); the
terminal is a stand-in stream that says it is one. Ctrl+C is a real SIGINT, sent when the first
batch has been posted; the poster is held there until the command's handler has asked it to stop,
so where it stops is known, not raced.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.cli import main
from desktop.services.core.failures import EXIT_CODES
from desktop.services.core.progress import current
from desktop.services.pipeline.poster import Poster
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, OutboxDocument
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORG = "ACME-US"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _sync(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stderr: io.StringIO,
          *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(sys, "stderr", stderr)
        code = main(["sync", "--once", "--org", ORG, *args])
    return code, capsys.readouterr().out


def _outbox(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {status.value: int(n) for status, n in s.execute(
            sa.select(OutboxDocument.status, sa.func.count()).join(Organization)
            .where(Organization.code == ORG).group_by(OutboxDocument.status))}


def test_ctrl_c_stops_between_batches_and_the_bar_shows_only_on_a_terminal(
        sandbox: SandboxHandle, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--data-dir", str(tmp_path / "data"), "--db", db_url]
    root = sandbox.control_url.rsplit("/_sandbox", 1)[0]
    assert main(["demo", "init", "--sandbox", root, "--json", *where]) == 0
    db = Database(db_url)
    try:
        real = Poster._send
        batches = {"n": 0}

        def send(self: Poster, *a: Any, **kw: Any) -> Any:
            done = real(self, *a, **kw)
            batches["n"] += 1
            if batches["n"] == 1:
                os.kill(os.getpid(), signal.SIGINT)  # the person presses Ctrl+C once a batch has posted
                wait_until(lambda: current().cancelled, 30, what="the command to ask the sync to stop")
            return done

        monkeypatch.setattr(Poster, "_send", send)
        terminal = _Terminal()
        code, out = _sync(monkeypatch, capsys, terminal, *where)

        assert code == EXIT_CODES["interrupted"] == 130
        assert "Stopping after the batch being posted" in terminal.getvalue()
        assert f"\r{ORG}: reading new returns from the RMS" in terminal.getvalue()  # the bar's first line
        assert "Stopped on request: what was posted stays posted" in out
        held = _outbox(db)
        assert batches["n"] == 1 and held.get("in_flight", 0) == 0 and held["pending"] > 0
        assert f"{held['posted']} posted" in out  # the summary is the outbox's count
        monkeypatch.undo()

        for stream, args in ((_Terminal(), ("--json",)), (io.StringIO(), ())):  # --json; no terminal
            code, out = _sync(monkeypatch, capsys, stream, *args, *where)
            assert code == 0, out
            assert "\r" not in stream.getvalue()
            if args:
                assert "cancelled" not in json.loads(out)
        assert _outbox(db).get("pending", 0) == 0  # the rest posted by the next runs
    finally:
        db.dispose()
