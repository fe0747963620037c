"""Bulk actions over the returns selected in the grid: re-post, retry, export.

Each goes through the very service call its single counterpart makes (``manual.replan``,
``manual.retry``, ``query.export_csv``), one return after another on a worker thread, after ONE
confirmation that states the count; the outcome is one summary ("12 queued, 2 refused: …") with
each refusal's reason. A return the single action would not offer (its button disabled) is
refused with that reason rather than sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from desktop.services.core.progress import OperationProgress
from desktop.services.queries.returns import ReturnFilter, ReturnRow
from desktop.views.returns.detail import REPLANNABLE, RETRYABLE
from desktop.views.returns.model import status_label
from desktop.views.returns.services import ReturnServices

__all__ = ["BulkOutcome", "export_selected", "reason", "repost_all", "retry_all"]

_SHOWN_REFUSALS = 3


@dataclass
class BulkOutcome:
    """What a bulk action did: returns queued, and (RMA, reason) for each one refused."""

    verb: str = "queued"
    done: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.done} {self.verb}"
        if self.refused:
            reasons = "; ".join(f"{rma}: {why}" for rma, why in self.refused[:_SHOWN_REFUSALS])
            more = len(self.refused) - _SHOWN_REFUSALS
            text += f", {len(self.refused)} refused: {reasons}" + (f"; and {more} more" if more > 0 else "")
        return text + "."


def reason(exc: Exception) -> str:
    """What a refusal says to a person (its own message when it has one)."""
    user_message: Callable[[], str] | None = getattr(exc, "user_message", None)
    return user_message() if user_message is not None else str(exc)


def repost_all(services: ReturnServices, rows: Sequence[ReturnRow]) -> BulkOutcome:
    """Re-post each return (rebuild with the current mapping and queue), as the Re-post button does."""
    out = BulkOutcome()
    for row in rows:
        if row.status not in REPLANNABLE:
            out.refused.append((row.rma, f"{status_label(row.status)}: nothing to re-post"))
            continue
        try:
            prepared = services.manual.replan(services.actor, row.org, row.rma)
        except Exception as exc:  # a refusal (permission, locked period…) is reported per return
            out.refused.append((row.rma, reason(exc)))
            continue
        if prepared.problems:
            out.refused.append((row.rma, prepared.problems[0].message))
        else:
            out.done += 1
    return out


def retry_all(services: ReturnServices, rows: Sequence[ReturnRow]) -> BulkOutcome:
    """Retry every stopped document of each return, as the Retry button does for one document."""
    out = BulkOutcome()
    for row in rows:
        detail = services.query.detail(row.id)
        keys = [d.key for d in detail.documents if d.status in RETRYABLE] if detail is not None else []
        if not keys:
            out.refused.append((row.rma, "no failed or stopped document to retry"))
            continue
        try:
            for key in keys:
                services.manual.retry(services.actor, key)
        except Exception as exc:  # a refusal (permission, locked period…) is reported per return
            out.refused.append((row.rma, reason(exc)))
            continue
        out.done += 1
    return out


def export_selected(services: ReturnServices, base: ReturnFilter, rows: Sequence[ReturnRow], path: str,
                    sort: tuple[str, bool], progress: OperationProgress | None = None) -> int:
    """The selected returns as CSV, through the same export the whole grid uses (complete or no file)."""
    return int(services.query.export_to(Path(path), replace(base, ids=tuple(r.id for r in rows)), *sort,
                                        progress=progress))
