"""The keyring calls survive a Secret Service object vanishing mid-call, and nothing else is hidden."""

from __future__ import annotations

import keyring.errors
import pytest

from desktop.services.auth.vault import KEYRING_TRIES, _steady


class ItemNotFoundException(Exception):
    """Stands for secretstorage's exception of that name (matched by name, as the backend may vary)."""


def test_a_vanished_object_is_asked_again() -> None:
    answers: list[object] = [ItemNotFoundException("Item does not exist!"), "secret"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    assert _steady(call) == "secret" and answers == []


def test_it_gives_up_after_a_few_tries_and_other_errors_are_not_retried() -> None:
    tries: list[int] = []

    def vanished() -> str:
        tries.append(1)
        raise ItemNotFoundException("Item does not exist!")

    with pytest.raises(keyring.errors.KeyringError, match="ItemNotFoundException"):
        _steady(vanished)
    assert len(tries) == KEYRING_TRIES

    def locked() -> str:
        tries.append(1)
        raise RuntimeError("locked")

    tries.clear()
    with pytest.raises(keyring.errors.KeyringError, match="RuntimeError: locked"):
        _steady(locked)
    assert len(tries) == 1

    def refused() -> str:
        raise keyring.errors.PasswordDeleteError("not there")

    with pytest.raises(keyring.errors.PasswordDeleteError):
        _steady(refused)


def test_the_keyring_librarys_own_error_over_a_vanished_object_is_asked_again() -> None:
    """What a busy test run met: the default collection vanished, the keyring library tried to create
    one, the headless session refused the prompt, and the library raised InitError from that."""
    made = keyring.errors.InitError("Failed to create the collection: Prompt dismissed.")
    dismissed = RuntimeError("Prompt dismissed.")
    dismissed.__context__ = ItemNotFoundException("Item does not exist!")
    made.__context__ = dismissed
    answers: list[object] = [made, "secret"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    assert _steady(call) == "secret" and answers == []

    def plain_init_error() -> str:
        raise keyring.errors.InitError("Failed to create the collection: Prompt dismissed.")

    with pytest.raises(keyring.errors.InitError):  # nothing vanished: not asked again
        _steady(plain_init_error)
