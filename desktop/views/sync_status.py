"""The status bar's "Last sync": per organization, from the Dashboard's one freshness source.

Every time is :meth:`~desktop.services.queries.dashboard.DashboardService.last_sync` — the newest
finished sync run — asked once per connected organization (the Dashboard asks it for the one it
shows); nothing here works freshness out again. The bar names up to :data:`SHOWN` organizations
("Last sync: ACME-US 15:02 · KIWI-NZ 14:58 · +2 more", UTC — the tooltip says so —, the day too
when it was not today);
the tooltip lists them all with what ran and how it ended.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from desktop.views.dashboard.widgets import format_at

if TYPE_CHECKING:
    from desktop.services.queries.dashboard import DashboardService, LastSync

__all__ = ["SHOWN", "SyncFreshness", "load_freshness", "status_text"]

SHOWN = 2
SyncFreshness = tuple[list[tuple[str, "LastSync | None"]], "LastSync | None"]


def load_freshness(dashboard: DashboardService) -> SyncFreshness:
    """Each connected organization's last sync, and the newest of any (run this off the GUI thread)."""
    return [(code, dashboard.last_sync(code)) for code, _name in dashboard.organizations()], dashboard.last_sync()


def _short(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never"
    at = at.astimezone(UTC)
    return f"{at:%H:%M}" if at.date() == now.astimezone(UTC).date() else f"{at:%d %b %H:%M}"


def status_text(freshness: SyncFreshness, now: datetime) -> tuple[str, str] | None:
    """``(text, tooltip)`` for the status bar, or None when nothing has synced yet."""
    rows, newest = freshness
    if not rows or all(last is None for _code, last in rows):
        if newest is None:
            return None
        org = f" for {newest.org}" if newest.org else ""
        return (f"Last sync: {format_at(newest.finished_at)}{f' · {newest.org}' if newest.org else ''}",
                f"Most recent completed sync: {newest.text}{org}, {format_at(newest.finished_at)}")
    parts = [f"{code} {_short(last.finished_at if last else None, now)}" for code, last in rows[:SHOWN]]
    if len(rows) > SHOWN:
        parts.append(f"+{len(rows) - SHOWN} more")
    tip = "\n".join(f"{code}: {f'{last.text}, {format_at(last.finished_at)}' if last else 'not synced yet'}"
                    for code, last in rows)
    return f"Last sync: {' · '.join(parts)}", f"Most recent completed sync per organization (UTC):\n{tip}"
