"""How far an ingest has got, and how to stop it: what the CLI's bar and the GUI's dialog show.

Ingest (file import and RMS pull alike) works in batches, one transaction each; after every
committed batch it calls ``progress(IngestProgress)`` — on the ingesting thread, so a GUI hands the
figures over and returns — and then asks ``cancelled()``. A cancelled ingest stops there, at a batch
boundary: everything reported as committed is in the database, nothing else of the input is.

A record source (:class:`RecordSource`) is what ingest reads from: an iterator of records that can
also say how far into its input it is (bytes, for the bar) and, after a cancel, count what it did
not hand over, so the person is told exactly how many records were not imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from desktop.services.core.progress import bar_line

if TYPE_CHECKING:
    from desktop.services.core.domain import Problem

__all__ = ["Incoming", "IngestProgress", "ProgressCallback", "RecordSource", "StopCheck", "bar_text"]


@dataclass(frozen=True)
class Incoming:
    """One record to ingest, as the source stated it.

    Attributes:
        raw: the ``Return`` object (any JSON value: a non-object is quarantined too).
        annotate: rewrites each problem before it is stored (file import adds row numbers).
        extra_problems: problems found before parsing (e.g. CSV rows of one return disagreeing).
        continues: the rest of a record handed over before (a CSV return's rows far apart): it
            replaces that record rather than being a second copy of it (``rms/copies.py``).
        where: where the record is, as its source names it (``orders.csv row 4``): what
            ``annotate`` puts before a problem of the whole record (None: ask ``annotate``).
    """

    raw: object
    annotate: Callable[[Problem], Problem] | None = None
    extra_problems: tuple[Problem, ...] = ()
    continues: bool = False
    where: str | None = None


@dataclass(frozen=True)
class IngestProgress:
    """Figures after a committed batch (revisions; ``read`` = ingested + quarantined + unchanged + duplicates
    + conflicts).

    ``bytes_read``/``bytes_total`` are the input's, when it has a size (a file); None for a feed.
    """

    read: int
    ingested: int
    quarantined: int
    unchanged: int
    conflicts: int
    batches: int
    bytes_read: int | None = None
    bytes_total: int | None = None
    #: Identical copies of a revision already read (counted in ``read``, nothing written).
    duplicates: int = 0

    @property
    def committed(self) -> int:
        """Records whose outcome is in the database (every record read so far: batches commit whole)."""
        return self.read

    @property
    def fraction(self) -> float | None:
        """How much of the input has been read, 0…1 (None when the size is unknown)."""
        if self.bytes_read is None or not self.bytes_total:
            return None
        return min(1.0, self.bytes_read / self.bytes_total)

    def summary(self) -> str:
        """``12,000 read: 11,880 ingested, 120 quarantined`` (+ unchanged / conflicting when any)."""
        parts = [f"{self.ingested:,} ingested", f"{self.quarantined:,} quarantined"]
        if self.unchanged:
            parts.append(f"{self.unchanged:,} unchanged")
        if self.duplicates:
            parts.append(f"{self.duplicates:,} duplicate{'' if self.duplicates == 1 else 's'}")
        if self.conflicts:
            parts.append(f"{self.conflicts:,} conflicting")
        return f"{self.read:,} read: {', '.join(parts)}"


ProgressCallback = Callable[[IngestProgress], None]
StopCheck = Callable[[], bool]


class RecordSource(Protocol):
    """Records to ingest, read lazily from a file (see :mod:`desktop.services.rms.file_import`)."""

    name: str

    def __iter__(self) -> Iterator[Incoming]: ...

    @property
    def bytes_read(self) -> int: ...

    @property
    def bytes_total(self) -> int: ...

    def count_rest(self) -> int:
        """How many records the input still holds past those handed over (reads on, validates nothing)."""
        ...


def bar_text(p: IngestProgress, width: int = 30) -> str:
    """A one-line text progress bar: ``[#####-----]  42 %  12,000 read: …``."""
    return bar_line(p.fraction, p.summary(), width)
