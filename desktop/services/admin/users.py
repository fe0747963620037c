"""Who may use the app and in which role: the ``users`` table, managed by admins, every change audited.

Permissions are enforced here (``Actor.require``), not by the Settings page's disabled buttons: a
viewer calling :meth:`UserService.change_role` directly gets :class:`PermissionDenied` too. Two
rules keep an installation manageable:

- the first person to open the app on an empty ``users`` table becomes its admin (someone has to
  be able to add the others). Anyone else who turns up at the desktop app on a single workstation is
  enrolled as a *viewer* — visible in Settings so an admin can promote them, but unable to change
  anything until then; a headless command, or anyone in shared-PostgreSQL mode, who is not enrolled
  is refused (:meth:`UserService.signed_in`);
- no change may leave the installation without an active admin (demoting or deactivating the last
  one is refused with a message saying what to do instead).

Who "the person" is comes from :meth:`Database.login`: the OS account on SQLite, the PostgreSQL login
in shared mode — never an environment variable. Refusals are audited (:meth:`UserService.record_refusal`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.admin import audit
from desktop.services.auth.roles import Action, Actor, Role
from desktop.services.core.clock import Clock
from desktop.services.core.errors import AppError, ConfigurationError, NeedsPersonError, PermissionDenied
from desktop.services.core.events import EventBus, Severity
from desktop.services.store.db import Database, transaction_lock
from desktop.services.store.models import User

__all__ = ["REFUSED", "ROLE_DESCRIPTIONS", "UserInfo", "UserService"]

log = logging.getLogger(__name__)
_ENROL_LOCK_KEY = 0x524C535F55534552  # "RLS_USER": one enrolment at a time (PostgreSQL)

#: The audit action of a refused request (PostgreSQL's row policy lets a viewer append only these).
REFUSED = "access.refused"

_USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@\-]{0,99}")

#: What each role may do, in words for the Settings page (mirrors ``auth.roles.PERMISSIONS``).
ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.ADMIN: "Everything: connections, mappings, users and settings, plus all an operator does",
    Role.OPERATOR: "Runs and repairs the sync: post, retry, resolve errors, manual entries, variances",
    Role.VIEWER: "Reads everything, changes nothing (auditors)",
}


@dataclass(frozen=True)
class UserInfo:
    """A user as views see it: a detached, immutable snapshot."""

    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: User) -> UserInfo:
        return cls(row.id, row.username, row.display_name, Role(row.role), row.is_active, row.created_at,
                   row.updated_at)

    @property
    def actor(self) -> Actor:
        """The actor this user acts as; a deactivated user can only look."""
        return Actor(self.username, self.role if self.is_active else Role.VIEWER)


class UserService:
    """List, add, change the role of, deactivate and reactivate users (admins only)."""

    def __init__(self, db: Database, clock: Clock, bus: EventBus | None = None) -> None:
        self._db = db
        self._clock = clock
        self._bus = bus

    # -- reading ---------------------------------------------------------------------------------
    def list_users(self) -> list[UserInfo]:
        """Everyone, active first, then by name (anyone may read the list: it hides nothing secret)."""
        with self._db.session() as s:
            rows = s.scalars(sa.select(User).order_by(User.is_active.desc(), User.username)).all()
            return [UserInfo.of(r) for r in rows]

    def roster(self, actor: Actor) -> list[UserInfo]:
        """:meth:`list_users` for ``returns-ledger users list`` (admins only, like every ``users`` command)."""
        actor.require(Action.MANAGE_USERS)
        return self.list_users()

    def get(self, username: str) -> UserInfo | None:
        with self._db.session() as s:
            row = s.scalar(sa.select(User).where(User.username == username))
            return UserInfo.of(row) if row is not None else None

    def signed_in(self, *, enroll_newcomers: bool = False) -> Actor:
        """The actor for whoever runs this process, as the database knows them (:meth:`Database.login`).

        ``enroll_newcomers`` (the desktop app on a single workstation) enrols someone unknown as a
        viewer; otherwise someone unknown is refused — except the very first person on an empty
        installation, who becomes its admin either way.
        """
        return self.current_actor(self._db.login(), newcomers=Role.VIEWER if enroll_newcomers else None)

    def current_actor(self, username: str, display_name: str | None = None, *,
                      newcomers: Role | None = Role.VIEWER) -> Actor:
        """The actor for the person at the desk, enrolling them on first sight.

        The very first user becomes admin; later newcomers get the role ``newcomers``, or are
        refused (:class:`PermissionDenied`, audited) when it is None. Enrolments are audited as
        done by ``system``.
        """
        _check_username(username)
        with self._db.write_session() as s:
            row = s.scalar(sa.select(User).where(User.username == username))
            if row is not None:
                return UserInfo.of(row).actor
            self._lock_enrolment(s)  # two first sign-ins at once: the second waits, then finds the row
            row = s.scalar(sa.select(User).where(User.username == username))
            if row is not None:
                return UserInfo.of(row).actor
            first = s.scalar(sa.select(sa.func.count()).select_from(User)) == 0
            if first or newcomers is not None:
                role = Role.ADMIN if first else Role(newcomers or Role.VIEWER)
                row = self._insert(s, username, display_name or username, role)
                audit.append(s, self._clock, actor="system", action="user.enrolled", target=username,
                             details={"role": role.value, "first_user": first})
                return UserInfo.of(row).actor
        refused = PermissionDenied(
            f"{username} is not a user of this installation",
            action=f"ask an admin to add you: `returns-ledger users add {username} --role viewer` (or operator, admin)",
            who=username, permission="sign_in", needed=Role.VIEWER.value)
        self.record_refusal(refused)
        raise refused

    def record_refusal(self, refused: PermissionDenied, *, via: str = "cli") -> None:
        """Put a refusal in the audit log: who, in which role, asked for what, and which role it needs.

        Written in its own transaction (the refused one was rolled back, or never began). If the
        database will not take even that (a PostgreSQL login outside every app role), the refusal
        still stands; only the entry is missing, and the log says so.
        """
        try:
            with self._db.write_session() as s:
                audit.append(s, self._clock, actor=refused.who or "unknown", action=REFUSED,
                             target=refused.permission,
                             details={"role": refused.role, "needed": refused.needed, "via": via})
        except (sa.exc.SQLAlchemyError, AppError, OSError) as exc:
            log.warning("could not audit the refusal of %s to %s: %s", refused.who, refused.permission,
                        type(exc).__name__)

    # -- changing (admins only) --------------------------------------------------------------------
    def add(self, actor: Actor, username: str, display_name: str, role: Role) -> UserInfo:
        actor.require(Action.MANAGE_USERS)
        _check_username(username)
        role = Role(role)
        with self._db.write_session() as s:
            self._lock_enrolment(s)
            if s.scalar(sa.select(User.id).where(User.username == username)) is not None:
                raise ConfigurationError(f"There is already a user called {username}",
                                         action="change that user's role instead")
            row = self._insert(s, username, display_name.strip() or username, role)
            audit.append(s, self._clock, actor=actor.username, action="user.added", target=username,
                         details={"role": role.value, "display_name": row.display_name})
            info = UserInfo.of(row)
        self._emit("user.added", f"{actor.username} added {username} as {role.value}", actor)
        return info

    def change_role(self, actor: Actor, username: str, role: Role) -> UserInfo:
        actor.require(Action.MANAGE_USERS)
        role = Role(role)
        with self._db.write_session() as s:
            row = self._load(s, username)
            before = Role(row.role)
            if before is role:
                return UserInfo.of(row)
            if before is Role.ADMIN and row.is_active:
                self._keep_an_admin(s, row, f"make {username} {role.value}")
            row.role = role
            row.updated_at = self._clock.now()
            audit.append(s, self._clock, actor=actor.username, action="user.role_changed", target=username,
                         details={"from": before.value, "to": role.value})
            info = UserInfo.of(row)
        self._emit("user.role_changed", f"{actor.username} changed {username} from {before.value} to {role.value}",
                   actor)
        return info

    def deactivate(self, actor: Actor, username: str) -> UserInfo:
        """Take away a user's access (the row stays: audit entries keep naming them)."""
        return self._set_active(actor, username, False)

    def reactivate(self, actor: Actor, username: str) -> UserInfo:
        return self._set_active(actor, username, True)

    # -- internals -------------------------------------------------------------------------------
    def _set_active(self, actor: Actor, username: str, active: bool) -> UserInfo:
        actor.require(Action.MANAGE_USERS)
        with self._db.write_session() as s:
            row = self._load(s, username)
            if row.is_active == active:
                return UserInfo.of(row)
            if not active and Role(row.role) is Role.ADMIN:
                self._keep_an_admin(s, row, f"deactivate {username}")
            row.is_active = active
            row.updated_at = self._clock.now()
            action = "user.reactivated" if active else "user.deactivated"
            audit.append(s, self._clock, actor=actor.username, action=action, target=username,
                         details={"role": Role(row.role).value})
            info = UserInfo.of(row)
        verb = "reactivated" if active else "deactivated"
        self._emit(f"user.{verb}", f"{actor.username} {verb} {username}", actor)
        return info

    def _keep_an_admin(self, s: Session, row: User, what: str) -> None:
        """Refuse a change that would leave no active admin.

        On PostgreSQL every active admin row — ``row`` included — is locked in id order, so two
        admins demoting each other at once queue on the same first row (locking only "the others"
        took the rows in opposite orders: a deadlock); the second then sees the first's change."""
        stmt = (sa.select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True))
                .order_by(User.id))
        if s.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        if not any(admin_id != row.id for admin_id in s.scalars(stmt)):
            raise NeedsPersonError(f"Cannot {what}: {row.username} is the only active admin",
                                   action="make another user an admin first")

    @staticmethod
    def _lock_enrolment(s: Session) -> None:
        """Serialise adding users (no row exists yet to lock): two processes enrolling the same
        person, or two first people on an empty installation, would otherwise both insert — a
        unique-key crash, or two "first" admins."""
        transaction_lock(s, _ENROL_LOCK_KEY)

    def _insert(self, s: Session, username: str, display_name: str, role: Role) -> User:
        now = self._clock.now()
        row = User(username=username, display_name=display_name, role=role, is_active=True, created_at=now,
                   updated_at=now)
        s.add(row)
        s.flush()
        return row

    @staticmethod
    def _load(s: Session, username: str) -> User:
        row = s.scalar(sa.select(User).where(User.username == username))
        if row is None:
            raise ConfigurationError(f"There is no user called {username}", action="add the user first")
        return row

    def _emit(self, kind: str, message: str, actor: Actor) -> None:
        if self._bus is not None:
            self._bus.emit(kind, Severity.INFO, message, details={"by": actor.username})


def _check_username(username: str) -> None:
    if not _USERNAME_RE.fullmatch(username or ""):
        raise ConfigurationError(f"{username!r} is not a usable user name",
                                 action="use letters, digits and . _ @ - (at most 100 characters)")
