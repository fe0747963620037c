"""The tests' keyring is the real Secret Service (gnome-keyring over D-Bus), never a stand-in."""

from __future__ import annotations

import os
import uuid

import keyring
import pytest
from keyring.backends import SecretService


def test_active_backend_is_secret_service() -> None:
    if os.environ.get("RLS_TEST_KEYRING") != "secretservice":
        pytest.fail("run the suite through scripts/test.sh: it starts gnome-keyring on a private "
                    "D-Bus session", pytrace=False)
    backend = keyring.get_keyring()
    assert isinstance(backend, SecretService.Keyring), f"keyring backend is {backend!r}"
    # Not a chainer, fail, null or plaintext backend in disguise: talk to the daemon for real.
    import secretstorage

    bus = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(bus)
        assert not collection.is_locked()
    finally:
        bus.close()


def test_secret_round_trips_through_the_daemon() -> None:
    service = f"rls-test-{uuid.uuid4().hex}"
    keyring.set_password(service, "alice", "s3cr3t-value")
    try:
        import secretstorage

        bus = secretstorage.dbus_init()
        try:
            items = list(secretstorage.get_default_collection(bus).search_items({"service": service}))
            assert len(items) == 1
            assert items[0].get_secret() == b"s3cr3t-value"
        finally:
            bus.close()
        assert keyring.get_password(service, "alice") == "s3cr3t-value"
    finally:
        keyring.delete_password(service, "alice")
    assert keyring.get_password(service, "alice") is None
