"""The usage meter: each organization's metered ledger calls against its tier's allowance.

One figure per ledger connection — QuickBooks reads this month against the monthly allowance,
Xero calls today against the daily limit — as the Dashboard's meter and ``returns-ledger usage``
both show it (:func:`usage_report`; the counting and the allowances are
:mod:`desktop.services.connections.usage`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from desktop.services.connections.allowance import Allowances, UsedUp
from desktop.services.connections.usage import WARN_AT_PCT, UsageFigure, UsageRecorder, usage_figures
from desktop.services.core.clock import Clock
from desktop.services.store.db import Database

__all__ = ["UsageFigure", "UsageReport", "usage_report"]

#: What the meter means, in a finance admin's words (the CLI and the Dashboard's tooltip).
EXPLANATION = (
    "QuickBooks meters the calls that read data (the free Builder tier allows 500,000 a month); "
    "posting is not metered. Xero counts every call against a daily limit (1,000 a day on the Starter "
    f"tier). You are warned at {WARN_AT_PCT} %.")


@dataclass(frozen=True)
class UsageReport:
    """Every connection's figure (of one organization, or of all), as of ``today``."""

    org: str | None
    today: date
    figures: list[UsageFigure]
    #: Connections whose allowance is used up: refused until the reset (``connections/allowance.py``).
    used_up: list[UsedUp] = field(default_factory=list)

    @property
    def warnings(self) -> list[UsageFigure]:
        return [f for f in self.figures if f.warning]

    def to_json(self) -> dict[str, Any]:
        return {"org": self.org, "as_of": self.today.isoformat(), "warn_at_pct": WARN_AT_PCT,
                "connections": [f.as_json() for f in self.figures], "used_up": [u.as_json() for u in self.used_up]}

    def text(self) -> str:
        if not self.figures:
            return "No ledger connections" + (f" for {self.org}" if self.org else "")
        lines = ["Ledger API usage" + (f" for {self.org}" if self.org else "") + f", {self.today.isoformat()}"]
        for f in self.figures:
            flag = f"  — {f.alert}" if f.alert else ""
            lines.append(f"  {f.org:<12} {f.text}{flag}")
        for u in self.used_up:
            lines.append(f"  {u.org:<12} {u.text}. {u.advice}")
        return "\n".join([*lines, "", EXPLANATION])


def usage_report(db: Database, clock: Clock, org: str | None = None,
                 recorder: UsageRecorder | None = None, allowance: Allowances | None = None) -> UsageReport:
    """The usage figures of ``org`` (None: every organization); ``recorder``: store its counts first;
    ``allowance``: say which connections' allowance is used up."""
    figures = recorder.figures(org) if recorder is not None else usage_figures(db, clock, org)
    used_up = [u for code in sorted({f.org for f in figures}) for u in allowance.for_org(code)] if allowance else []
    return UsageReport(org, clock.now().date(), figures, used_up)
