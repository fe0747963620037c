"""The project's error taxonomy: every service failure is transient, needs a person, or fatal.

- transient: retrying later may succeed (timeouts, 5xx, 429, connection resets).
- needs a person: nothing will change until someone acts (an unmapped code, a closed period,
  a revoked connection); the message says who must do what.
- fatal: a bug or a broken installation; stop and report.

Each error keeps the platform's own code and message (QBO fault code, Xero ValidationErrors)
when there is one, so the error log can show it beside our explanation.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    TRANSIENT = "transient"
    NEEDS_PERSON = "needs_person"
    FATAL = "fatal"


class AppError(Exception):
    """Base of every error a service raises on purpose."""

    kind: ErrorKind = ErrorKind.FATAL

    def __init__(
        self,
        message: str,
        *,
        platform: str | None = None,
        platform_code: str | None = None,
        platform_message: str | None = None,
        action: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.platform_code = platform_code
        self.platform_message = platform_message
        self.action = action

    @property
    def retryable(self) -> bool:
        return self.kind is ErrorKind.TRANSIENT

    def user_message(self) -> str:
        """One line for the person who must act: what happened, the platform's word, what to do."""
        parts = [self.message]
        if self.platform_code or self.platform_message:
            platform = f"{self.platform} " if self.platform else ""
            code = f"{self.platform_code}: " if self.platform_code else ""
            parts.append(f"({platform}{code}{self.platform_message or ''})".replace(": )", ")"))
        if self.action:
            parts.append(f"— {self.action}")
        return " ".join(parts)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "platform": self.platform,
            "platform_code": self.platform_code,
            "platform_message": self.platform_message,
            "action": self.action,
        }


class TransientError(AppError):
    """Retrying later may succeed."""

    kind = ErrorKind.TRANSIENT

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class NeedsPersonError(AppError):
    """Nothing changes until someone acts; the message says what to do."""

    kind = ErrorKind.NEEDS_PERSON


class FatalError(AppError):
    """A bug or a broken installation."""

    kind = ErrorKind.FATAL


class PermissionDenied(NeedsPersonError):
    """The current user's role does not allow the action (enforced in services).

    ``who``, ``role``, ``permission`` and ``needed`` say who was refused, in which role, what they
    asked for and which role it needs; the refusal is audited from them (``admin.users``).
    """

    def __init__(self, message: str, *, who: str | None = None, role: str | None = None,
                 permission: str | None = None, needed: str | None = None, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.who = who
        self.role = role
        self.permission = permission
        self.needed = needed


class ConfigurationError(NeedsPersonError):
    """A setting, mapping or connection is missing or wrong."""


class NeedsReconnect(NeedsPersonError):
    """The grant is gone (revoked, expired or rotated away): an admin must reconnect."""
