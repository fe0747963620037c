"""Every call the app makes to the OS keyring goes through :func:`steady`: one at a time in this
process, asked again when the Secret Service said an object it had just named no longer exists or
left the bus mid-call (a busy machine, a daemon restarting), anything else handed on as a
:class:`keyring.errors.KeyringError`. The token vault, the audit keys, the database password and the
alert secrets all use it, so none of them meets a hiccup the others survive."""

from __future__ import annotations

import gc
import threading
import time
import warnings
from collections.abc import Callable
from typing import TypeVar

import keyring.errors

__all__ = ["KEYRING_PAUSE", "KEYRING_TRIES", "steady"]

_T = TypeVar("_T")
#: Tries of one keyring call whose Secret Service object vanished under it (see :func:`steady`), and
#: the first pause between them (doubled each time: 0.1 + 0.2 + 0.4 + 0.8 s at most).
KEYRING_TRIES = 5
KEYRING_PAUSE = 0.1
#: One keyring call at a time in this process: organizations sync in parallel threads, and each call
#: opens its own Secret Service session; the daemon answered concurrent ones with "not available".
#: The calls take milliseconds, so nobody waits long; the pauses between tries do not hold it.
_KEYRING_CALLS = threading.Lock()


def _vanished(exc: BaseException) -> bool:
    """True when the Secret Service said an object it had just named no longer exists, here or behind
    the keyring library's own error (``secretstorage``'s ItemNotFoundException; the library then tries
    to create a default collection, which a headless session can only refuse: "Prompt dismissed")."""
    seen: BaseException | None = exc
    for _ in range(8):  # the cause chain, never a cycle
        if seen is None:
            return False
        if type(seen).__name__ == "ItemNotFoundException":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


#: What the message bus answers a call whose Secret Service went away before replying (the daemon
#: ended or aborted; the bus starts it again on the next call), or that found none to start yet.
_SERVICE_GONE = ("org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.ServiceUnknown",
                 "SecretServiceNotAvailableException")


def _service_gone(exc: BaseException) -> bool:
    """True when the Secret Service left the bus during the call (see :data:`_SERVICE_GONE`): every
    keyring call is safe to make again (a read, or a write of the same value)."""
    seen: BaseException | None = exc
    for _ in range(8):  # the cause chain, never a cycle
        if seen is None:
            return False
        text = f"{type(seen).__name__}: {seen}"
        if any(marker in text for marker in _SERVICE_GONE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _close_abandoned_connections() -> None:
    """The keyring library leaves the D-Bus connection of a call the service never answered open (no
    ``close`` on its error path); collect it now, quietly, rather than have the garbage collector warn
    about an unclosed socket later, in whatever code happens to run then."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def steady(call: Callable[[], _T]) -> _T:
    """Run a keyring call, again if the Secret Service answered that an object it had just named
    no longer exists (the daemon re-created a collection between the look-up and the search; on a
    busy machine that takes a moment) or left the bus while answering (it is started again on the
    next call). Anything else, or the last such answer, goes to the caller as a
    :class:`keyring.errors.KeyringError`."""
    for attempt in range(1, KEYRING_TRIES + 1):
        try:
            with _KEYRING_CALLS:
                return call()
        except Exception as exc:  # keyring's errors and the backend's own: secretstorage, jeepney, …
            gone = _service_gone(exc)
            if not (_vanished(exc) or gone) or attempt == KEYRING_TRIES:
                if isinstance(exc, keyring.errors.KeyringError):
                    raise
                raise keyring.errors.KeyringError(f"{type(exc).__name__}: {exc}") from exc
        # out of the handler: the failed call's frames (and the connection the library left open, a
        # vanished object's as much as a gone service's) are unreachable now
        _close_abandoned_connections()
        time.sleep(KEYRING_PAUSE * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover
