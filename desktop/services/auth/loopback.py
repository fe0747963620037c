"""A one-shot loopback redirect listener (RFC 8252 §7.3) for sign-in in the system browser.

Used when an organization's single sign-on refuses embedded browsers, and by the headless
``returns-ledger connect`` command. It listens on ``127.0.0.1`` on a free (or given) port,
captures the request to the redirect path that carries the sign-in's own ``state``, answers it
with a short "you can close this tab" page and hands the full redirect URL back.

Any other request — a wrong or missing ``state``, as a local web page could send to abort or hijack
a sign-in — is answered "not this sign-in" and the listener keeps waiting for the real redirect.
The state is compared in constant time.
"""

from __future__ import annotations

import hmac
import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from desktop import APP_NAME
from desktop.services.core.errors import NeedsPersonError, TransientError

_PAGE = """<!doctype html><meta charset="utf-8"><title>{title}</title>
<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;color:#223">
<h1 style="font-weight:600">{title}</h1><p>{text}</p></body>"""


class LoopbackRedirect:
    """Listen for one OAuth redirect on loopback. Use as a context manager."""

    def __init__(self, path: str = "/callback", port: int = 0, host_name: str = "127.0.0.1") -> None:
        """Listen on 127.0.0.1:``port`` (0 = any free port).

        ``host_name`` is how the redirect URI names this computer: platforms that insist on an
        exact, pre-registered redirect URI get ``http://localhost:<fixed port>/callback``.
        """
        self.path = path
        self.host_name = host_name
        self._result: str | None = None
        self._expected_state: str | None = None
        self._done = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path.rstrip("/") != outer.path.rstrip("/"):
                    self.send_error(404)
                    return
                query = parse_qs(parts.query)
                if not outer._state_matches(query.get("state", [""])[0]):
                    self._answer(400, "Not this sign-in", "This answer does not belong to the sign-in in progress. "
                                 f"Return to {APP_NAME} and finish signing in from the page it opened.")
                    return
                ok = "code" in query
                title = "Connected" if ok else "Not connected"
                text = (f"You can close this tab and return to {APP_NAME}." if ok else
                        f"The sign-in did not complete ({html.escape(query.get('error', ['unknown'])[0])}). "
                        f"Return to {APP_NAME} to try again.")
                self._answer(200, title, text)
                if not outer._done.is_set():
                    outer._result = f"{outer.redirect_uri}?{parts.query}"
                    outer._done.set()

            def _answer(self, status: int, title: str, text: str) -> None:
                body = _PAGE.format(title=title, text=text).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None  # the query holds the authorization code: never log it

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="oauth-loopback", daemon=True)

    def expect_state(self, state: str) -> None:
        """The ``state`` of the authorization request this listener waits for; until it is set,
        every request is refused."""
        self._expected_state = state

    def _state_matches(self, state: str) -> bool:
        expected = self._expected_state
        return bool(expected) and hmac.compare_digest(state.encode(), (expected or "").encode())

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.host_name}:{self._server.server_port}{self.path}"

    @classmethod
    def for_uri(cls, uri: str) -> LoopbackRedirect:
        """A listener for a registered loopback redirect URI like ``http://localhost:8765/callback``."""
        parts = urlsplit(uri)
        if parts.scheme != "http" or parts.hostname not in {"localhost", "127.0.0.1"}:
            raise NeedsPersonError(f"{uri} is not a loopback redirect URI",
                                   action="register http://localhost:<port>/callback with the platform")
        return cls(parts.path or "/callback", parts.port or 80, parts.hostname)

    def __enter__(self) -> LoopbackRedirect:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(self, timeout_s: float) -> str:
        """The redirect URL (with its query) once the browser comes back."""
        if not self._done.wait(timeout_s):
            raise TransientError("No answer came back from the browser in time",
                                 action="finish signing in within the time allowed, or try again")
        if self._result is None:
            raise NeedsPersonError("Signing in was cancelled", action="start the connection again")
        return self._result

    def cancel(self) -> None:
        self._done.set()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join(5)
