"""The emulator tests use the session's sandbox from the root ``tests/conftest.py``.

``sandbox_server`` (one in-process server per session) and ``sandbox`` (a handle reset to seed 1
before each test, faults cleared after) are registered there for every directory; the handle is
:class:`tests.helpers.sandbox.SandboxHandle`.
"""

from tests.helpers.sandbox import SandboxHandle  # noqa: F401 - kept importable here for code written before helpers
