"""``returns-ledger import FILE --org ORG``: ingest an RMS export (CSV or JSON) like a pull would."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig


def _import(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.rms.file_import import import_file
    from desktop.services.rms.ingest import IngestService
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:  # the real actor: importing needs an operator or admin
        result = import_file(IngestService(rt.database, rt.bus, rt.clock), Path(args.file), args.org, rt.actor)
    data: dict[str, Any] = {"ingested": result.ingested, "quarantined": result.quarantined,
                            "unchanged": result.unchanged, "superseded": result.superseded,
                            "replaced": result.replaced, "conflicts": result.conflicts,
                            "quarantine": [q.as_json() for q in result.quarantine]}
    lines = [f"{args.file}: {result.ingested} ingested, {result.quarantined} quarantined, "
             f"{result.unchanged} unchanged"
             + (f", {result.replaced} replaced" if result.replaced else "")
             + (f", {result.conflicts} conflicting (not applied)" if result.conflicts else "")]
    for q in result.quarantine:
        lines.append(f"  quarantined {q.rma_number} (revision {q.revision}):")
        lines.extend(f"    [{p.code}] {p.message}" for p in q.problems)
    emit(args, data, "\n".join(lines))
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("import", parents=[common, json_opt],
                            help="import an RMS export file (CSV or JSON) into an organization",
                            description="Validate and ingest the returns in FILE exactly as a pull from the "
                                        "RMS would; bad records are quarantined with their reasons, "
                                        "never dropped. Formats: docs/rms-file-import.md.")
    parser.add_argument("file", metavar="FILE", help="a .csv or .json export of the RMS")
    parser.add_argument("--org", required=True, metavar="ORG", help="the organization's code, e.g. ACME-US")
    parser.set_defaults(handler=_import)
