"""``returns-ledger sandbox serve`` in a real subprocess: one JSON line, a live server, clean SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests

from desktop.sandbox.server import serve_summary

ROOT = Path(__file__).resolve().parents[2]


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first stdout line, or fail after ``timeout`` seconds (never hang the suite)."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()  # type: ignore[union-attr]
                                                        ), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box:
        proc.kill()
        raise AssertionError(f"no start-up line within {timeout} s; stderr: {proc.communicate()[1]}")
    return box[0]


def test_serve_prints_one_json_line_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--data-dir", str(tmp_path), "sandbox", "serve",
         "--port", "0", "--seed", "4"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _read_line(proc, timeout=60)
        info = json.loads(line)
        assert set(info) >= {"qbo", "xero", "rms", "control_url"}
        assert set(info["qbo"]) >= {"base_url", "client_id", "client_secret", "redirect_uri", "companies"}
        assert set(info["xero"]) >= {"base_url", "client_id", "client_secret", "pkce_client_id",
                                     "redirect_uri", "tenants"}
        assert set(info["rms"]) >= {"base_url", "api_key"}
        assert info["control_url"].startswith("http://127.0.0.1:")
        health = requests.get(f"{info['control_url']}/health", timeout=10).json()
        assert health["status"] == "ok" and health["seed"] == 4
        orgs = requests.get(f"{info['rms']['base_url']}/v1/organizations", timeout=10,
                            headers={"X-API-Key": info["rms"]["api_key"]})
        assert orgs.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert out == ""  # exactly one line in all: nothing after the start-up JSON
    # Only the short human summary (no secrets): no tracebacks, no warnings, no werkzeug request lines.
    assert err == serve_summary(info) + "\n"


def test_serve_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", "--data-dir", str(tmp_path), "sandbox", "serve",
         "--host", "0.0.0.0"],  # noqa: S104 - refusing it is the point
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "loopback" in proc.stderr and "Traceback" not in proc.stderr
