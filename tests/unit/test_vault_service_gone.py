"""A keyring call whose Secret Service left the bus while answering (gnome-keyring aborted; the bus
starts it again on the next call) is made again; an unrelated D-Bus error is not."""

from __future__ import annotations

import gc
import socket
import weakref

import keyring.errors
import pytest

from desktop.services.auth.vault import KEYRING_TRIES, _steady


class DBusErrorResponse(Exception):
    """Stands for jeepney's error reply of that name (matched by its text, as the backend may vary)."""


NO_REPLY = DBusErrorResponse("[org.freedesktop.DBus.Error.NoReply] ('Message recipient disconnected from "
                             "message bus without replying',)")


def test_a_call_the_service_never_answered_is_made_again() -> None:
    answers: list[object] = [NO_REPLY, "secret"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise keyring.errors.KeyringError("could not read") from answer
        return str(answer)

    assert _steady(call) == "secret" and answers == []


def test_it_gives_up_when_the_service_stays_away_and_other_dbus_errors_are_not_retried() -> None:
    tries: list[int] = []

    def gone() -> str:
        tries.append(1)
        raise NO_REPLY

    with pytest.raises(keyring.errors.KeyringError, match="NoReply"):
        _steady(gone)
    assert len(tries) == KEYRING_TRIES
    tries.clear()

    def refused() -> str:
        tries.append(1)
        raise DBusErrorResponse("[org.freedesktop.DBus.Error.AccessDenied] ('not allowed',)")

    with pytest.raises(keyring.errors.KeyringError, match="AccessDenied"):
        _steady(refused)
    assert len(tries) == 1


def test_the_abandoned_connection_of_an_unanswered_call_is_collected_at_once_and_quietly() -> None:
    """The keyring library leaves the failed call's D-Bus connection open, held in a reference cycle:
    collected by the next garbage collection, wherever that runs, with a ResourceWarning (an error in
    this suite). The vault collects it before asking again."""
    abandoned: list[weakref.ref[socket.socket]] = []

    def call() -> str:
        if not abandoned:
            connection = socket.socket(socket.AF_UNIX)  # stands for the library's connection, never closed
            holder: dict[str, object] = {"connection": connection}
            holder["self"] = holder  # the cycle that keeps it past the call
            abandoned.append(weakref.ref(connection))
            raise keyring.errors.KeyringError("could not read") from NO_REPLY
        return "secret"

    gc.disable()  # only the vault's own collection may find it
    try:
        assert _steady(call) == "secret"
        assert abandoned[0]() is None
    finally:
        gc.enable()
