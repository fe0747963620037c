"""Sync steps for tests of "sync now"'s progress and Cancel: a push that reports like the poster and is
held on an event after its first batch — a known point to look at the app from, no sleeps."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from desktop.services.core.progress import current

BATCH, DUE = 10, 30


class HeldPush:
    """Steps (:class:`~desktop.services.pipeline.scheduler.SyncSteps`) whose push posts :data:`DUE`
    documents in batches of :data:`BATCH`, reporting ``n posted, m waiting`` through the progress in
    effect, and waits on :attr:`go` after the first batch (:attr:`held` says it got there). A cancel
    is honoured before each batch, as the poster does."""

    def __init__(self) -> None:
        self.held, self.go = threading.Event(), threading.Event()
        self.batches = 0

    def ingest(self, org: str) -> Mapping[str, Any]:
        return {"ingested": 0}

    def push(self, org: str, worker_id: str) -> Mapping[str, Any]:
        told, posted = current(), 0
        while posted < DUE and not told.cancelled:
            posted += BATCH
            self.batches += 1
            told.report(posted, DUE, f"{org}: {posted:,} posted, {DUE - posted:,} waiting")
            if self.batches == 1:
                self.held.set()
                if not self.go.wait(60):
                    raise TimeoutError("the test never let the push go on")
        return {"posted": posted}

    def pull(self, org: str) -> Mapping[str, Any]:
        return {"pulled_changes": 0}
