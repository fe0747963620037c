"""Fixtures several integration modules share; what they build lives in ``tests/helpers``.

``world`` is the one :class:`~tests.helpers.worlds.World` over ``db_url`` (SQLite and PostgreSQL)
with the sandbox's apps registered; modules that need a different world (another clock, no
sandbox) define their own ``world`` from the same class.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.alerts import Hooks, Mailbox, keyring_service, smtp_mailbox, webhook_receiver
from tests.helpers.returns import ReturnsWorld
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import World


@pytest.fixture
def world(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[World]:
    """The app's services over ``db_url``, the real keyring, and the sandbox's apps registered."""
    with World(db_url, tmp_path, sandbox=sandbox) as w:
        yield w


@pytest.fixture
def recon(world: World) -> World:
    """The world the reconciliation tests name ``recon``."""
    return world


@pytest.fixture
def rworld(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[ReturnsWorld]:
    """A world whose organizations get their returns ingested and a mapping (``ReturnsWorld.ready``)."""
    with ReturnsWorld(db_url, tmp_path, sandbox=sandbox) as w:
        yield w


@pytest.fixture(name="mailbox")
def mailbox_fixture(tmp_path: Path) -> Iterator[Mailbox]:
    """A local SMTP server that requires STARTTLS and a login."""
    with smtp_mailbox(tmp_path) as box:
        yield box


@pytest.fixture(name="webhook_receiver")
def webhook_receiver_fixture() -> Iterator[Hooks]:
    with webhook_receiver() as hooks:
        yield hooks


@pytest.fixture(name="keyring_service")
def keyring_service_fixture() -> Iterator[str]:
    with keyring_service() as name:
        yield name
