"""Two first sign-ins at the same moment on a shared PostgreSQL database (CI saw a crash).

Two ``db upgrade`` commands started together both found no ``users`` row for their login and both
inserted one: the loser died with a unique-key IntegrityError (exit 70). Enrolment now takes a
transaction lock; this test holds that lock itself, starts both sign-ins, waits until PostgreSQL
shows both queued on it, then lets them go — no timing luck involved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.admin import users as users_module
from desktop.services.admin.users import UserService
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.store.db import Database, transaction_lock
from desktop.services.store.models import AuditLog, User
from tests.helpers.db import database_url
from tests.helpers.waiting import wait_until
from tests.helpers.worlds import World

pytestmark = pytest.mark.db
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[UserService, Database]]:
    with database_url("postgresql", tmp_path) as url, World(url, tmp_path, clock=ManualClock(T0)) as w:
        yield w.users, w.db


def _waiting_on_enrolment(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar_one())


def _race(db: Database, *calls: tuple[str, Callable[[], Actor]]) -> tuple[dict[str, Actor], list[BaseException]]:
    """Run each ``(name, call)`` in a thread while the enrolment lock is held; release when all queue."""
    results: dict[str, Actor] = {}
    errors: list[BaseException] = []

    def run(name: str, call: Callable[[], Actor]) -> None:
        try:
            results[name] = call()
        except BaseException as exc:  # reported by the assertions
            errors.append(exc)

    threads = [threading.Thread(target=run, args=call) for call in calls]
    with db.engine.begin() as blocker:
        transaction_lock(blocker, users_module._ENROL_LOCK_KEY)
        for t in threads:
            t.start()
        wait_until(lambda: _waiting_on_enrolment(db) == len(calls), 60, what="every sign-in to queue on the lock")
    for t in threads:
        t.join(60)
    return results, errors


def test_the_same_person_signing_in_twice_at_once_is_enrolled_once(world: tuple[UserService, Database]) -> None:
    users, db = world
    results, errors = _race(db, ("one", lambda: users.current_actor("alice")),
                            ("two", lambda: users.current_actor("alice")))
    assert errors == []
    assert results == {"one": Actor("alice", Role.ADMIN), "two": Actor("alice", Role.ADMIN)}
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                        .where(AuditLog.action == "user.enrolled")) == 1


def test_two_first_people_at_once_make_one_admin(world: tuple[UserService, Database]) -> None:
    users, db = world
    results, errors = _race(db, ("alice", lambda: users.current_actor("alice")),
                            ("bob", lambda: users.current_actor("bob")))
    assert errors == []
    assert sorted(a.role.value for a in results.values()) == [Role.ADMIN.value, Role.VIEWER.value]
    assert sorted((u.username, u.role) for u in users.list_users()) == sorted(
        (name, actor.role) for name, actor in results.items())
