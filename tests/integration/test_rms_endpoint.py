"""Connecting the returns system (RMS): the service and ``returns-ledger rms connect`` / ``rms status``.

Real keyring, real databases (SQLite and PostgreSQL), real HTTP to the sandbox's RMS emulator.
The API key reaches the command on stdin, never in argv, and never appears in output or the database.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.core.errors import ConfigurationError, NeedsPersonError, PermissionDenied, TransientError
from desktop.services.rms.client import RmsClient
from desktop.services.rms.endpoint import RMS_SETTING, RmsEndpoint
from desktop.services.store.models import Setting
from tests.helpers.sandbox import SandboxHandle, fast_http
from tests.helpers.worlds import ADMIN, VIEWER, World

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    with World(db_url, tmp_path) as w:
        yield w


def _endpoint(world: World) -> RmsEndpoint:
    return RmsEndpoint(world.db, world.vault, world.clock, world.bus,
                       client=lambda url, key: RmsClient(url, key, http=fast_http("rms")))


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return f"http://127.0.0.1:{port}/rms"


def test_connect_lists_the_organizations_and_keeps_the_key_only_in_the_keyring(
        world: World, sandbox: SandboxHandle) -> None:
    rms = sandbox.info["rms"]
    endpoint = _endpoint(world)
    assert endpoint.status().state == "not_connected"
    orgs = endpoint.connect(ADMIN, rms["base_url"] + "/", rms["api_key"])
    assert {o.code for o in orgs} == {"ACME-US", "MAPLE-CA", "KIWI-NZ", "TEA-UK"}
    status = endpoint.status()
    assert status.configured and status.base_url == rms["base_url"] and status.updated_by == ADMIN.username
    assert endpoint.api_key(rms["base_url"]) == rms["api_key"]
    with world.db.session() as s:
        stored = s.execute(sa.select(Setting.value).where(Setting.key == RMS_SETTING)).scalar()
    assert rms["api_key"] not in json.dumps(stored)
    assert [o.code for o in endpoint.test(VIEWER)] == [o.code for o in orgs]  # anyone may test what is stored
    assert world.wait_for(lambda e: e.kind == "rms.connected").details == {"base_url": rms["base_url"]}
    # Editing the address without a new key keeps the stored one.
    assert endpoint.connect(ADMIN, rms["base_url"], None) == orgs


def test_a_refused_key_or_an_unreachable_rms_saves_nothing(world: World, sandbox: SandboxHandle) -> None:
    rms = sandbox.info["rms"]
    endpoint = _endpoint(world)
    with pytest.raises(NeedsPersonError, match="API key was refused"):
        endpoint.connect(ADMIN, rms["base_url"], "not-the-key")
    with pytest.raises(ConfigurationError, match="No RMS API key"):
        endpoint.connect(ADMIN, rms["base_url"], "  ")
    with pytest.raises(ConfigurationError, match="only HTTPS"):
        endpoint.connect(ADMIN, "http://rms.example.com/rms", "k")
    with pytest.raises(TransientError):
        endpoint.connect(ADMIN, _closed_port_url(), "k")
    assert endpoint.status().state == "not_connected"
    with pytest.raises(ConfigurationError, match="not connected"):
        endpoint.test(ADMIN)


def test_only_an_admin_may_connect_it(world: World, sandbox: SandboxHandle) -> None:
    rms = sandbox.info["rms"]
    with pytest.raises(PermissionDenied):
        _endpoint(world).connect(VIEWER, rms["base_url"], rms["api_key"])
    assert _endpoint(world).status().base_url is None


def _cli(*args: str, data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_rms_connect_and_status_from_a_terminal(tmp_path: Path, sandbox: SandboxHandle) -> None:
    rms = sandbox.info["rms"]
    data = tmp_path / "data"
    before = _cli("rms", "status", data_dir=data)
    assert before.returncode == 1 and "not connected" in before.stdout

    refused = _cli("rms", "connect", "--url", rms["base_url"], data_dir=data, stdin="wrong-key\n")
    assert refused.returncode == 2, refused.stderr
    assert "API key was refused" in refused.stderr and "Traceback" not in refused.stderr

    done = _cli("rms", "connect", "--url", rms["base_url"], data_dir=data, stdin=rms["api_key"] + "\n")
    assert done.returncode == 0, done.stderr
    assert "It sees 4 organizations" in done.stdout and "ACME-US — Acme Outdoor Supply Inc. (USD)" in done.stdout
    assert rms["api_key"] not in done.stdout + done.stderr

    status = _cli("rms", "status", "--test", "--json", data_dir=data)
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert found["state"] == "connected" and found["base_url"] == rms["base_url"] and found["api_key_stored"]
    assert [o["code"] for o in found["organizations"]] == ["ACME-US", "MAPLE-CA", "KIWI-NZ", "TEA-UK"]
    assert rms["api_key"] not in status.stdout

    down = _cli("rms", "connect", "--url", _closed_port_url(), data_dir=data, stdin="k\n")
    assert down.returncode == 75 and "did not answer" in down.stderr
