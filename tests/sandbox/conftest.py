"""One in-process sandbox server per test session, reset to its seed before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests


class SandboxHandle:
    """What a test needs: the start-up info and a small client for the control API."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.control_url: str = info["control_url"]
        self.http = requests.Session()

    def control(self, method: str, path: str, json: Any = None) -> Any:
        resp = self.http.request(method, f"{self.control_url}/{path.lstrip('/')}", json=json, timeout=30)
        assert resp.status_code < 400, f"control {method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    def rms(self, method: str, path: str, *, api_key: str | None = None, **kwargs: Any) -> requests.Response:
        """One call to the RMS emulator's API (``path`` like ``/v1/returns``), with its API key."""
        headers = {"X-API-Key": self.info["rms"]["api_key"] if api_key is None else api_key,
                   **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.info['rms']['base_url']}{path}", headers=headers,
                                 timeout=30, **kwargs)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    from desktop.sandbox.server import SandboxServer

    server = SandboxServer(seed=1)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: Any) -> Iterator[SandboxHandle]:
    handle = SandboxHandle(sandbox_server.info)
    handle.control("POST", "reset", {"seed": 1})
    yield handle
    handle.control("DELETE", "faults")
    handle.http.close()
