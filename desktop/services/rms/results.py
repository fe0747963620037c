"""What an ingest did (re-exported by :mod:`desktop.services.rms.ingest`, which fills them in).

Every record handed to ingest is exactly one of: ingested, quarantined, unchanged, a duplicate (an
identical copy of one earlier in its batch, see :mod:`desktop.services.rms.copies`) or a conflict
(different content for a revision already used downstream). So records in = ingested + quarantined
+ unchanged + duplicates + conflicts = :attr:`IngestResult.read`. ``replaced`` ones are also
ingested or quarantined; ``superseded`` counts older rows; ``set_aside`` counts revisions of the
RMS feed stepped over because the RMS never sent them readably (:mod:`desktop.services.rms.feed_guard`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop.services.core.domain import Problem
from desktop.services.rms.parse import problem_json

__all__ = ["QUARANTINE_DETAILS", "IngestResult", "OrgSyncResult", "QuarantinedRecord"]

#: Quarantined records a result lists with their problems (memory stays bounded for any input).
QUARANTINE_DETAILS = 1000
_SUMMED = ("ingested", "quarantined", "unchanged", "superseded", "replaced", "conflicts", "duplicates", "pages",
           "set_aside")


@dataclass(frozen=True)
class QuarantinedRecord:
    rms_id: str
    revision: int
    rma_number: str
    problems: tuple[Problem, ...]
    stand_ins: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"rms_id": self.rms_id, "revision": self.revision, "rma_number": self.rma_number,
                "problems": [problem_json(p) for p in self.problems], "placeholders": list(self.stand_ins)}


@dataclass
class IngestResult:
    """What one pull or import did (counts are revisions; see the module docstring)."""

    ingested: int = 0
    quarantined: int = 0
    unchanged: int = 0
    superseded: int = 0
    replaced: int = 0
    conflicts: int = 0
    #: Identical copies of a revision already in the same batch (no-ops).
    duplicates: int = 0
    pages: int = 0
    #: Feed revisions the RMS never answered readably, stepped over (``rms/feed_guard.py``).
    set_aside: int = 0
    #: The first :data:`QUARANTINE_DETAILS` quarantined records with their problems (the database has all).
    quarantine: list[QuarantinedRecord] = field(default_factory=list)
    #: Stopped at a batch boundary on request: what committed stays; ``not_read`` records were not imported.
    cancelled: bool = False
    not_read: int | None = None

    @property
    def read(self) -> int:
        """Records handed to ingest whose outcome is in the database: each is exactly one of these."""
        return self.ingested + self.quarantined + self.unchanged + self.duplicates + self.conflicts

    @property
    def quarantine_omitted(self) -> int:
        """Quarantined records not listed in :attr:`quarantine` (past the cap)."""
        return self.quarantined - len(self.quarantine)

    def keep(self, record: QuarantinedRecord) -> None:
        if len(self.quarantine) < QUARANTINE_DETAILS:
            self.quarantine.append(record)

    def merge(self, other: IngestResult) -> None:
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for record in other.quarantine:
            self.keep(record)

    def counts(self) -> dict[str, int]:
        return {"ingested": self.ingested, "quarantined": self.quarantined, "unchanged": self.unchanged,
                "superseded": self.superseded, "replaced": self.replaced, "conflicts": self.conflicts,
                "duplicates": self.duplicates, "set_aside": self.set_aside}


@dataclass
class OrgSyncResult:
    """What :meth:`IngestService.ensure_organizations` did, by organization code."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # code → why
