"""Terminal hygiene: with ``--json`` stdout is exactly one JSON document; people's text goes to stderr.

Real processes, as an administrator scripts them: ``sandbox serve`` (its JSON line on stdout, a
short summary without secrets on stderr), then ``demo init``, ``sync --once`` and ``reconcile``
against it with a private ``--data-dir``. Each command's stdout is parsed whole with ``json.loads``
— a progress line on stdout would make it fail.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run_cli

pytestmark = pytest.mark.slow


def _secrets(info: dict[str, Any]) -> list[str]:
    found = [str(info[p][k]) for p in ("qbo", "xero") for k in ("client_secret", "client_id") if info[p].get(k)]
    return [*found, str(info["rms"]["api_key"])]


def test_sandbox_serve_then_json_commands_each_print_one_document(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    with subprocess.Popen([sys.executable, "-m", "desktop", "sandbox", "serve"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None and server.stderr is not None
            info = json.loads(server.stdout.readline())
            root = str(info["control_url"]).rsplit("/_sandbox", 1)[0]
            summary = [server.stderr.readline() for _ in range(3)]  # written after the JSON line
            assert summary[0].startswith(f"Sandbox running at {root}:"), summary
            assert f"demo init --sandbox {root}" in summary[1]

            init = run_cli("demo", "init", "--sandbox", root, "--json", *data)
            assert init.returncode == 0, init.stderr
            assert {o["code"] for o in json.loads(init.stdout)["organizations"]} == \
                {"ACME-US", "MAPLE-CA", "KIWI-NZ", "TEA-UK"}
            assert init.stderr.strip(), "demo init's progress belongs on stderr"

            sync = run_cli("sync", "--once", "--json", *data, timeout=240)
            assert sync.returncode in (0, 1), sync.stderr  # 1: a step failed, and the JSON says which
            totals = json.loads(sync.stdout)
            assert totals["ingested"] > 0 and totals["posted"] > 0, totals

            rec = run_cli("reconcile", "--org", "ACME-US", "--from", "2020-01-01", "--to", "2030-12-31",
                          "--json", *data, timeout=240)
            assert rec.returncode == 0, rec.stderr
            assert json.loads(rec.stdout)["org"] == "ACME-US"
        finally:
            server.send_signal(signal.SIGTERM)
            rest_out, rest_err = server.communicate(timeout=30)
    assert server.returncode == 0, rest_err
    assert rest_out == "", "sandbox serve prints exactly one line on stdout"
    shown = "".join(summary) + rest_err
    leaked = [s for s in _secrets(info) if s in shown]
    assert not leaked, "sandbox serve's human summary shows no client id, secret or API key"
