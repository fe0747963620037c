"""The sandbox server itself: loopback only, routing by prefix, start/stop, quiet request logging."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest
import requests

from desktop.sandbox.server import SandboxServer, is_loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", ""])  # noqa: S104 - refusing it is the point
def test_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert is_loopback(host)


def test_start_binds_loopback_and_stop_releases_the_port(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = SandboxServer(seed=3)
    info = server.start()
    try:
        assert server.info is info
        assert server.base_url.startswith("http://127.0.0.1:")
        assert info["control_url"] == f"{server.base_url}/_sandbox"
        assert info["rms"]["base_url"] == f"{server.base_url}/rms"
        health = requests.get(f"{info['control_url']}/health", timeout=10).json()
        assert health == {"status": "ok", "services": sorted(server.emulators), "seed": 3,
                          "base_url": server.base_url}
        # The listening socket is bound to loopback, not to every interface.
        sock = server._server.socket  # type: ignore[union-attr]
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        server.stop()
        server.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{info['control_url']}/health", timeout=5)
    # Request lines were logged, but only at DEBUG: nothing WARNING-or-worse, nothing from werkzeug.
    assert any(r.name == "desktop.sandbox.server" and r.levelno == logging.DEBUG
               and "/_sandbox/health" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.name == "werkzeug"]


def test_context_manager_serves_on_a_given_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SandboxServer(seed=1, port=port) as server:
        assert server.port == port
        assert requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=10).status_code == 200


def test_unknown_prefix_is_a_json_404(sandbox: Any) -> None:
    base = sandbox.control_url.removesuffix("/_sandbox")
    resp = requests.get(f"{base}/nothing-here/v1", timeout=10)
    assert resp.status_code == 404
    assert "no emulated service" in resp.json()["error"]
    # "/rmsx" is not "/rms": prefixes match whole path segments only.
    assert requests.get(f"{base}/rmsx/v1/returns", timeout=10).status_code == 404


def test_prefix_matching_is_case_insensitive(sandbox: Any) -> None:
    base = sandbox.control_url.removesuffix("/_sandbox")
    resp = requests.get(f"{base}/RMS/v1/organizations", timeout=10,
                        headers={"X-API-Key": sandbox.info["rms"]["api_key"]})
    assert resp.status_code == 200
    assert {o["code"] for o in resp.json()["organizations"]} == {"ACME-US", "MAPLE-CA", "KIWI-NZ", "TEA-UK"}


def test_ledger_emulators_are_mounted(sandbox: Any) -> None:
    health = sandbox.control("GET", "health")
    assert health["services"] == ["qbo", "rms", "xero"]
    for name in ("qbo", "xero"):
        assert sandbox.info[name]["base_url"].endswith(f"/{name}")


def test_xero_prefix_and_connections_match_any_case(sandbox: Any) -> None:
    base = sandbox.control_url.removesuffix("/_sandbox")
    for path in ("/xero/connections", "/Xero/Connections", "/XERO/CONNECTIONS"):
        resp = requests.get(f"{base}{path}", timeout=10)
        assert resp.status_code == 401, (path, resp.status_code)  # Xero's own "no bearer token" answer
        assert "no emulated service" not in resp.text
