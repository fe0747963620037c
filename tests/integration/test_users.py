"""Users and roles on real databases: enrolment, admin-only changes, never zero admins, audited."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.admin.users import UserService
from desktop.services.auth.roles import Action, Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import ConfigurationError, NeedsPersonError, PermissionDenied
from desktop.services.core.events import Event
from desktop.services.store.db import Database
from desktop.services.store.models import AuditLog
from tests.helpers.worlds import World

pytestmark = pytest.mark.db
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[tuple[UserService, Database, list[Event]]]:
    """The user service on a manual clock, its database and the events it emitted."""
    with World(db_url, tmp_path, clock=ManualClock(T0)) as w:
        yield w.users, w.db, w.events


def _audit(db: Database) -> list[tuple[str, str, str | None]]:
    with db.session() as s:
        return [(r.actor, r.action, r.target) for r in s.scalars(sa.select(AuditLog).order_by(AuditLog.seq))]


def test_first_user_becomes_admin_and_later_ones_viewers(world: tuple[UserService, Database, list[Event]]) -> None:
    users, db, _ = world
    alice = users.current_actor("alice", "Alice Admin")
    bob = users.current_actor("bob")
    assert alice == Actor("alice", Role.ADMIN)
    assert bob == Actor("bob", Role.VIEWER)
    assert users.current_actor("alice") == alice  # a second look enrols nobody
    assert [(u.username, u.role, u.display_name) for u in users.list_users()] == [
        ("alice", Role.ADMIN, "Alice Admin"), ("bob", Role.VIEWER, "bob")]
    assert _audit(db) == [("system", "user.enrolled", "alice"), ("system", "user.enrolled", "bob")]


def test_admin_adds_and_changes_roles_audited_and_announced(
        world: tuple[UserService, Database, list[Event]]) -> None:
    users, db, events = world
    admin = users.current_actor("alice")
    info = users.add(admin, "carol", "Carol Ops", Role.OPERATOR)
    assert (info.username, info.role, info.is_active) == ("carol", Role.OPERATOR, True)
    assert users.current_actor("carol").can(Action.RESOLVE_ERRORS)
    users.change_role(admin, "carol", Role.VIEWER)
    assert not users.current_actor("carol").can(Action.RESOLVE_ERRORS)
    with pytest.raises(ConfigurationError, match="already a user called carol"):
        users.add(admin, "carol", "Again", Role.ADMIN)
    with pytest.raises(ConfigurationError, match="not a usable user name"):
        users.add(admin, "bad name!", "", Role.VIEWER)
    assert _audit(db)[1:] == [("alice", "user.added", "carol"), ("alice", "user.role_changed", "carol")]
    with db.session() as s:
        entry = s.scalars(sa.select(AuditLog).where(AuditLog.action == "user.role_changed")).one()
        assert entry.details == {"from": "operator", "to": "viewer"}
        assert audit.verify_chain(s).intact
    assert [e.kind for e in events] == ["user.added", "user.role_changed"]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_only_admins_manage_users_even_calling_the_service_directly(
        world: tuple[UserService, Database, list[Event]], role: Role) -> None:
    users, db, _ = world
    admin = users.current_actor("alice")
    users.add(admin, "dave", "Dave", role)
    dave = users.current_actor("dave")
    for attempt in (lambda: users.add(dave, "eve", "Eve", Role.ADMIN),
                    lambda: users.change_role(dave, "dave", Role.ADMIN),
                    lambda: users.deactivate(dave, "alice")):
        with pytest.raises(PermissionDenied, match=f"dave is an? {role.value}"):
            attempt()
    assert users.get("dave").role is role  # type: ignore[union-attr]
    assert users.get("alice").is_active  # type: ignore[union-attr]
    assert [a for _, a, _ in _audit(db)] == ["user.enrolled", "user.added"]


def test_never_zero_active_admins(world: tuple[UserService, Database, list[Event]]) -> None:
    users, _, _ = world
    alice = users.current_actor("alice")
    with pytest.raises(NeedsPersonError, match="only active admin"):
        users.change_role(alice, "alice", Role.OPERATOR)
    with pytest.raises(NeedsPersonError, match="only active admin"):
        users.deactivate(alice, "alice")
    users.add(alice, "bob", "Bob", Role.ADMIN)
    users.deactivate(alice, "bob")
    with pytest.raises(NeedsPersonError):  # bob is inactive, so alice is still the only one
        users.change_role(alice, "alice", Role.VIEWER)
    users.reactivate(alice, "bob")
    users.change_role(alice, "alice", Role.VIEWER)
    assert users.current_actor("alice") == Actor("alice", Role.VIEWER)
    bob = users.current_actor("bob")
    users.deactivate(bob, "alice")
    assert users.current_actor("alice").role is Role.VIEWER  # deactivated: can only look
    assert [(u.username, u.is_active) for u in users.list_users()] == [("bob", True), ("alice", False)]


def test_two_admins_demoting_each_other_at_once_leave_one(
        world: tuple[UserService, Database, list[Event]]) -> None:
    users, _, _ = world
    alice = users.current_actor("alice")
    users.add(alice, "bob", "Bob", Role.ADMIN)
    bob = Actor("bob", Role.ADMIN)
    errors: list[BaseException] = []

    def demote(actor: Actor, whom: str) -> None:
        try:
            users.change_role(actor, whom, Role.OPERATOR)
        except NeedsPersonError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=demote, args=(alice, "bob")),
               threading.Thread(target=demote, args=(bob, "alice"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    admins = [u.username for u in users.list_users() if u.role is Role.ADMIN and u.is_active]
    assert len(admins) == 1 and len(errors) == 1
