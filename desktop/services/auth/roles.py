"""Roles and permissions, enforced here in the services — not only by disabled buttons.

Three roles: an **admin** manages connections, mappings, users and settings and can do
everything an operator can; an **operator** runs and repairs the sync (post, retry, resolve,
manual entry); a **viewer/auditor** reads everything and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from desktop.services.core.enums import UserRole
from desktop.services.core.errors import PermissionDenied

Role = UserRole


class Action(StrEnum):
    VIEW = "view"
    MANAGE_CONNECTIONS = "manage_connections"
    MANAGE_MAPPINGS = "manage_mappings"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    RUN_SYNC = "run_sync"
    POST_DOCUMENTS = "post_documents"
    RESOLVE_ERRORS = "resolve_errors"
    MANUAL_ENTRY = "manual_entry"
    REVIEW_VARIANCES = "review_variances"


_OPERATOR = frozenset({Action.VIEW, Action.RUN_SYNC, Action.POST_DOCUMENTS, Action.RESOLVE_ERRORS,
                       Action.MANUAL_ENTRY, Action.REVIEW_VARIANCES})
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.OPERATOR: _OPERATOR,
    Role.VIEWER: frozenset({Action.VIEW}),
}

_ROLE_NAMES = {Role.ADMIN: "an admin", Role.OPERATOR: "an operator", Role.VIEWER: "a viewer"}


@dataclass(frozen=True)
class Actor:
    """Who is asking: the signed-in user (or ``system`` for the scheduler)."""

    username: str
    role: Role

    def can(self, action: Action) -> bool:
        return action in PERMISSIONS[self.role]

    def require(self, action: Action) -> None:
        """Raise :class:`PermissionDenied` naming the role ``action`` needs, unless this actor may."""
        if not self.can(action):
            needed = needed_role(action)
            who = "an admin" if needed is Role.ADMIN else "an operator or admin"
            raise PermissionDenied(
                f"{self.username} is {_ROLE_NAMES[self.role]} and may not {action.value.replace('_', ' ')}: "
                f"that needs the {needed.value} role",
                action=f"ask {who} to do it, or ask an admin for the {needed.value} role "
                       f"(Settings → Users, or `returns-ledger users role {self.username} {needed.value}`)",
                who=self.username, role=self.role.value, permission=action.value, needed=needed.value)


def needed_role(action: Action) -> Role:
    """The least role that may do ``action``."""
    return next(role for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN) if action in PERMISSIONS[role])


SYSTEM = Actor("system", Role.ADMIN)
