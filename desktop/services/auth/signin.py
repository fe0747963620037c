"""One sign-in attempt, independent of how the browser is shown.

The embedded-browser dialog and the headless ``connect`` command both drive a :class:`SignIn`:

- embedded: open :attr:`authorize_url`; when the browser is about to navigate to a URL for
  which :meth:`is_redirect` is true, stop it and call :meth:`complete` with that URL. No
  server is involved, so an HTTPS redirect URI registered with Intuit works.
- system browser: :meth:`begin_system_browser` starts a loopback listener and returns the URL
  to open; :meth:`wait_system_browser` waits for the redirect and completes.

``finish`` receives the exchanged tokens and does what connecting means (keyring, database,
reference-data cache); it runs on whatever thread calls :meth:`complete` — never the GUI's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from desktop.services.auth.loopback import LoopbackRedirect
from desktop.services.auth.oauth import AuthorizationRequest, Callback, OAuthClient
from desktop.services.auth.platforms import platform_label
from desktop.services.auth.vault import TokenResult

R = TypeVar("R")
Report = Callable[[str], None]
Finish = Callable[[OAuthClient, Callback, TokenResult, Report], R]


def _quiet(_: str) -> None:
    return None


class SignIn(Generic[R]):
    """Drive one OAuth authorization-code sign-in to a finished connection."""

    def __init__(self, client_for: Callable[[str], OAuthClient], redirect_uri: str, finish: Finish[R],
                 loopback_uri: str | None = None) -> None:
        """
        Args:
            client_for: builds the OAuth client for a redirect URI (the registered one for the
                embedded browser, a loopback one for the system browser).
            redirect_uri: the registered redirect URI the embedded browser uses.
            finish: completes the connection from the exchanged tokens.
            loopback_uri: the registered loopback redirect URI for the system browser (a fixed
                port); None listens on any free port (RFC 8252 §7.3, where the platform allows it).
        """
        self._loopback_uri = loopback_uri
        self._client_for = client_for
        self._finish = finish
        self._client = client_for(redirect_uri)
        self._request: AuthorizationRequest = self._client.begin()
        self._listener: LoopbackRedirect | None = None
        self._lock = threading.Lock()
        self._completed = False

    @property
    def authorize_url(self) -> str:
        return self._request.url

    @property
    def platform_label(self) -> str:
        return platform_label(self._client.platform)

    def is_redirect(self, url: str) -> bool:
        return self._client.is_redirect(url)

    def complete(self, redirect_url: str, report: Report = _quiet) -> R:
        """Verify the redirect, exchange the code and finish; at most once per sign-in."""
        with self._lock:
            if self._completed:
                raise RuntimeError("this sign-in has already completed")
            self._completed = True
        report("Checking the answer…")
        callback = self._client.parse_callback(self._request, redirect_url)
        report(f"Exchanging the authorization code with {platform_label(self._client.platform)}…")
        tokens = self._client.exchange_code(self._request, callback)
        return self._finish(self._client, callback, tokens, report)

    def begin_system_browser(self) -> str:
        """Start a loopback listener and a fresh request for it; return the URL to open."""
        self.cancel_system_browser()
        listener = LoopbackRedirect.for_uri(self._loopback_uri) if self._loopback_uri else LoopbackRedirect()
        self._listener = listener.__enter__()
        self._client = self._client_for(self._listener.redirect_uri)
        self._request = self._client.begin()
        self._listener.expect_state(self._request.state)
        return self._request.url

    def wait_system_browser(self, timeout_s: float = 600.0, report: Report = _quiet) -> R:
        listener = self._listener
        if listener is None:
            raise RuntimeError("begin_system_browser() first")
        report("Waiting for you to finish signing in in your browser…")
        try:
            redirect = listener.wait(timeout_s)
        finally:
            listener.close()
        return self.complete(redirect, report)

    def cancel_system_browser(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            self._listener.close()
            self._listener = None
