"""``returns-ledger connect`` / ``connections`` in a subprocess, against the sandbox, with the real keyring.

The test plays the person at the browser: it reads the sign-in address the command prints,
approves it through the sandbox's simulated consent (what clicking "Connect" on the real page
does) and follows the redirect to the command's loopback listener with ``requests``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from desktop.services.auth.vault import TokenVault
from desktop.services.core.clock import SystemClock
from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, RefAccount
from tests.helpers.cli import run_cli_here
from tests.helpers.sandbox import SandboxHandle

pytestmark = pytest.mark.slow  # minutes on a loaded machine: handed out first (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, data_dir: Path, db_url: str) -> list[str]:
    return [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "--db", db_url, *args]


def _here(*args: str, data_dir: Path, db_url: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """A quick command through the CLI's own main() in this process (``connect`` itself runs in a real one)."""
    done = run_cli_here("--data-dir", str(data_dir), "--db", db_url, *args)
    assert not ok or done.returncode == 0, done.stderr
    return done


class Lines:
    """Reads a pipe on a thread, so the test can wait for one line without blocking forever."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, prefix: str, timeout: float) -> str:
        with self._cond:
            found = self._cond.wait_for(lambda: any(x.startswith(prefix) for x in self.lines), timeout)
            assert found, f"no line starting with {prefix!r}; got: {self.lines}"
            return next(x for x in self.lines if x.startswith(prefix))

    def join(self) -> None:
        self._thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _approve(sandbox: SandboxHandle, platform: str, url: str, company: str) -> None:
    """What the browser does when the person approves: consent, then follow the redirect to loopback."""
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    body = {"service": platform, "company": company,
            **{k: q[k] for k in ("client_id", "redirect_uri", "scope", "state")}}
    if "code_challenge" in q:
        body["code_challenge"] = q["code_challenge"]
    redirect = sandbox.control("POST", "authorize", body)["redirect_url"]
    assert redirect.startswith(("http://127.0.0.1:", "http://localhost:")), "the command listens on loopback"
    page = requests.get(redirect, timeout=30)
    assert page.status_code == 200 and "Connected" in page.text


@pytest.fixture
def cleanup_keyring(db_url: str) -> Iterator[None]:
    yield
    db = Database(db_url)
    try:
        with db.session() as s:
            refs = list(s.execute(sa.select(LedgerConnection.credential_ref)).scalars())
    except sa.exc.OperationalError:
        refs = []
    vault = TokenVault(SystemClock())
    for ref in refs:
        vault.forget(ref)
    db.dispose()


@pytest.mark.parametrize("platform", ["qbo", "xero"])
@pytest.mark.usefixtures("cleanup_keyring")
def test_connect_with_browser_none_then_connections_lists_it(
        sandbox: SandboxHandle, tmp_path: Path, db_url: str, platform: str) -> None:
    root = sandbox.control_url.rsplit("/_sandbox", 1)[0]
    if platform == "qbo":
        # An app registered from flags; the client secret arrives on stdin, never in argv.
        qbo = sandbox.info["qbo"]
        company, org = qbo["companies"][0]["realm_id"], qbo["companies"][0]["rms_org"]
        extra = ["--sandbox", root, "--client-id", qbo["client_id"], "--client-secret-stdin",
                 "--redirect-uri", qbo["redirect_uri"],
                 "--loopback-redirect-uri", f"http://localhost:{_free_port()}/callback"]
        stdin = qbo["client_secret"] + "\n"
    else:
        # The sandbox's own start-up JSON, piped in.
        tenant = sandbox.info["xero"]["tenants"][0]
        company, org = tenant["tenant_id"], tenant["rms_org"]
        extra = ["--sandbox-info", "-", "--tenant", company]
        stdin = json.dumps(sandbox.info) + "\n"
    cmd = _cli("connect", "--org", org, "--platform", platform, "--env", "local", "--browser", "none", "--json",
               *extra, data_dir=tmp_path / "data", db_url=db_url)
    assert not any("secret" in a.lower() and a != "--client-secret-stdin" for a in cmd)
    with subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}) as proc:
        try:
            assert proc.stdin is not None and proc.stderr is not None and proc.stdout is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
            err = Lines(proc.stderr)
            url = err.wait_for(root, timeout=60)
            assert "Open this address" in "\n".join(err.lines)
            _approve(sandbox, platform, url, company)
            out = proc.stdout.read()
            assert proc.wait(timeout=60) == 0, "\n".join(err.lines)
            err.join()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    result: dict[str, Any] = json.loads(out)
    assert result["state"] == "connected" and result["org_code"] == org and result["company_id"] == company
    assert result["platform"] == platform and result["environment"] == "local"
    progress = "\n".join(err.lines)
    assert "Exchanging the authorization code" in progress and "Reading" in progress
    assert stdin.strip() not in progress + out, "no secret in the command's output"

    listed = _here("connections", "--json", data_dir=tmp_path / "data", db_url=db_url)
    rows = json.loads(listed.stdout)
    assert [(r["org_code"], r["platform"], r["state"]) for r in rows] == [(org, platform, "connected")]
    # The grant is in the keyring and the chart of accounts is cached.
    db = Database(db_url)
    try:
        with db.session() as s:
            conn = s.get(LedgerConnection, rows[0]["id"])
            assert conn is not None
            accounts = s.execute(sa.select(sa.func.count()).select_from(RefAccount)
                                 .where(RefAccount.connection_id == conn.id)).scalar_one()
            ref = conn.credential_ref
        assert accounts >= 10
        assert TokenVault(SystemClock()).load_grant(ref) is not None
    finally:
        db.dispose()

    table = _here("connections", data_dir=tmp_path / "data", db_url=db_url).stdout
    assert table.splitlines()[0].split()[:3] == ["ORG", "LEDGER", "ENVIRONMENT"]
    assert org in table and "Connected" in table and " min" in table


def test_connections_when_there_are_none_says_how_to_add_one(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    done = _here("connections", data_dir=tmp_path, db_url=db_url)
    assert "No connections yet" in done.stdout
    as_json = _here("connections", "--json", data_dir=tmp_path, db_url=db_url)
    assert json.loads(as_json.stdout) == []


def test_connect_refuses_an_unreachable_sandbox(tmp_path: Path) -> None:
    done = _here("connect", "--org", "X", "--platform", "xero", "--env", "local", "--browser", "none",
                 "--sandbox", "http://127.0.0.1:9", "--client-id", "abc", data_dir=tmp_path,
                 db_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", ok=False)
    assert done.returncode == 2
    assert "No sandbox answers at http://127.0.0.1:9" in done.stderr
