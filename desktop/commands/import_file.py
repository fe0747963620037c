"""``returns-ledger import FILE --org ORG``: ingest an RMS export (CSV or JSON) like a pull would.

The file is streamed: records are read and written in batches, one transaction each, so memory
stays bounded whatever the file's size. A progress bar on stderr shows the records read, ingested
and quarantined and how much of the file is done (not with ``--json``, nor when stderr is not a
terminal). Ctrl+C stops at the next batch boundary: what committed stays, and the command says how
many records were saved, quarantined and not read (exit 130); a second Ctrl+C stops at once.
If the import fails part-way (the disk fills, the database fails), what committed stays too; the
command says how many records the database took — counted in the database — and that running
the same import again is safe: every record is keyed by (organization, RMS id, revision), so a
re-run skips what is already there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.commands import emit
from desktop.commands._progress_bar import StderrBar, stop_on_interrupt
from desktop.services.core.config import AppConfig
from desktop.services.core.failures import EXIT_CODES

if TYPE_CHECKING:
    from desktop.services.store.db import Database


def _import(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.rms.file_import import import_file
    from desktop.services.rms.ingest import IngestService
    from desktop.services.rms.progress import IngestProgress, bar_text
    from desktop.services.runtime import open_runtime
    path = Path(args.file)
    bar = StderrBar(args)

    def progress(p: IngestProgress) -> None:
        bar.show(bar_text(p))

    with open_runtime(config) as rt, stop_on_interrupt() as stop:  # the real actor: importing needs run_sync
        held_before = _returns_held(rt.database, args.org)

        def stopped(records: int) -> None:
            bar.close()
            _say_where_it_stopped(args, rt.database, held_before, records)

        # One transaction per batch: what committed before a failure stays, and a re-run skips it.
        try:
            result = import_file(IngestService(rt.database, rt.bus, rt.clock), path, args.org, rt.actor,
                                 stopped=stopped, progress=progress, cancelled=stop.is_set)
        finally:
            bar.close()
    data: dict[str, Any] = {"ingested": result.ingested, "quarantined": result.quarantined,
                            "unchanged": result.unchanged, "superseded": result.superseded,
                            "replaced": result.replaced, "conflicts": result.conflicts,
                            "duplicates": result.duplicates,
                            "read": result.read, "cancelled": result.cancelled, "not_read": result.not_read,
                            "quarantine": [q.as_json() for q in result.quarantine]}
    lines = [f"{args.file}: {result.ingested:,} ingested, {result.quarantined:,} quarantined, "
             f"{result.unchanged:,} unchanged"
             + (f", {result.replaced:,} replaced" if result.replaced else "")
             + (f", {result.duplicates:,} exact duplicate{'' if result.duplicates == 1 else 's'} skipped"
                if result.duplicates else "")
             + (f", {result.conflicts:,} conflicting (not applied)" if result.conflicts else "")]
    if result.cancelled:
        lines.insert(0, f"Import stopped on request after {result.read:,} records: those are saved "
                        f"({result.ingested:,} ingested, {result.quarantined:,} quarantined); "
                        f"{result.not_read if result.not_read is not None else 'the other'} records in the file "
                        "were not read. Running the same import again is safe: it skips what is saved.")
    for q in result.quarantine:
        lines.append(f"  quarantined {q.rma_number} (revision {q.revision}):")
        lines.extend(f"    [{p.code}] {p.message}" for p in q.problems)
    if result.quarantine_omitted:
        lines.append(f"  … and {result.quarantine_omitted:,} more quarantined returns: see the Returns page "
                     "(filter Quarantined) for each one's reasons")
    emit(args, data, "\n".join(lines))
    return EXIT_CODES["interrupted"] if result.cancelled else 0


def _returns_held(db: Database, org: str) -> int:
    """How many return revisions of ``org`` the database holds (valid and quarantined alike)."""
    import sqlalchemy as sa

    from desktop.services.store.models import Organization, Return
    with db.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Return).join(Organization)
                            .where(Organization.code == org)) or 0)


def _say_where_it_stopped(args: argparse.Namespace, db: Database, held_before: int, records: int) -> None:
    """Before the error itself (the CLI's boundary prints it with its exit code): how many records the
    database took — counted there, not tallied — and that running the import again is safe."""
    try:
        saved: int | None = _returns_held(db, args.org) - held_before
    except Exception:  # the database may be what failed: still say what is safe
        saved = None
    where = (f"{saved:,} new record{'' if saved == 1 else 's'} of the {records:,} read from {args.file} "
             f"{'was' if saved == 1 else 'were'} saved before it stopped" if saved is not None
             else f"the database could not say how many of the {records:,} records read from {args.file} were saved")
    with contextlib.suppress(OSError):
        if getattr(args, "json", False):
            print(json.dumps({"stopped": True, "saved": saved, "records": records}))  # noqa: T201 - a CLI prints
        print(f"import stopped: {where}. Running the same import again is safe: records already saved are "  # noqa: T201
              "recognised and not added twice.", file=sys.stderr)


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("import", parents=[common, json_opt],
                            help="import an RMS export file (CSV or JSON) into an organization",
                            description="Validate and ingest the returns in FILE exactly as a pull from the "
                                        "RMS would; bad records are quarantined with their reasons, "
                                        "never dropped. Formats: docs/rms-file-import.md.")
    parser.add_argument("file", metavar="FILE", help="a .csv or .json export of the RMS")
    parser.add_argument("--org", required=True, metavar="ORG", help="the organization's code, e.g. ACME-US")
    parser.set_defaults(handler=_import)
