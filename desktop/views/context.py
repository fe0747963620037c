"""What the shell hands to every page: the event bus, appearance, settings, who is at the desk and
the typed services object (:class:`~desktop.views.services.ViewServices`).

A plain dataclass instead of the services container itself, so views never import the composition
root (``desktop.app``) and tests can build a window from just the parts they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings

from desktop.services.core.identity import os_login
from desktop.views.services import ViewServices

if TYPE_CHECKING:
    from desktop.services.auth.roles import Actor
    from desktop.services.core.events import EventBus
    from desktop.views.theme import ThemeManager


def current_user() -> str:
    """The OS account's login name (never an environment variable)."""
    return os_login()


def describe_database(url: str) -> str:
    """A database URL fit to show: the SQLite file path, or the URL with any password hidden."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
        return f"SQLite · {path or ':memory:'}"
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show only its scheme rather than risk a secret
        return url.split("://", 1)[0] + "://…"


@dataclass
class ShellContext:
    """Everything a page may use. ``bus`` and ``theme`` are optional so a bare window still opens;
    ``services`` defaults to none at all (every page shows its empty state)."""

    settings: QSettings
    database_url: str = "sqlite://"
    data_dir: Path | None = None
    bus: EventBus | None = None
    theme: ThemeManager | None = None
    user: str = ""
    role: str = "admin"
    demo: bool = False
    actor: Actor | None = None
    services: ViewServices = field(default_factory=ViewServices)

    def __post_init__(self) -> None:
        if not self.user:
            self.user = current_user()

    @property
    def database_label(self) -> str:
        return describe_database(self.database_url)
