"""Integration tests reach the sandbox through the same fixtures as the emulator tests."""

from tests.sandbox.conftest import SandboxHandle, sandbox, sandbox_server  # noqa: F401
