"""``returns-ledger mapping export|import|history``: mapping sets as YAML/JSON files.

``import`` validates the file against the organization's cached chart of accounts (and the returns
still to post) before saving, and refuses with every problem listed; a shipped template
(``resources/mappings/*.yaml``) imports the same way. Exit codes: 0 done, 1 refused (problems),
2 error.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig


def _say(text: str) -> None:
    print(text, file=sys.stderr)  # noqa: T201 - progress and refusals go to stderr; stdout is for data


def _export(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.core.errors import NeedsPersonError
    from desktop.services.core.progress import write_file
    from desktop.services.mapping.io import dumps, export_document
    from desktop.services.mapping.service import MappingService
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        svc = MappingService(rt.database, rt.clock, rt.bus)
        view = svc.get_version(args.org, args.version) if args.version else svc.active_set(args.org)
        if view is None:
            raise NeedsPersonError(f"{args.org} has no mapping yet",
                                   action="import a template with `returns-ledger mapping import FILE --org "
                                          f"{args.org}` or build one on the Mappings page")
        snapshot = svc.snapshot(args.org)
        doc = export_document(view.rules, snapshot=snapshot, organization=view.organization_code,
                              version=view.version, note=view.note)
    text = dumps(doc, args.format)
    if args.out:
        write_file(Path(args.out), text, what="mapping export")
        _say(f"Wrote {len(view.rules)} rules of {view.organization_code} version {view.version} to {args.out}.")
    else:
        sys.stdout.write(text)
    return 0


def _problems_text(problems: list[Any]) -> str:
    return "\n".join(f"  - [{p.code}] {p.message}" + (f" ({p.field})" if p.field else "") for p in problems)


def _import(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.core.errors import NeedsPersonError
    from desktop.services.mapping.io import read_file
    from desktop.services.mapping.service import MappingService
    from desktop.services.runtime import open_runtime
    path = Path(args.file)
    try:
        document = read_file(sys.stdin.buffer, name="standard input") if args.file == "-" else read_file(path)
    except ValueError as exc:
        raise NeedsPersonError(f"Cannot read {args.file}: {exc}", action="check the file") from exc
    with open_runtime(config) as rt:
        svc = MappingService(rt.database, rt.clock, rt.bus)
        result = svc.import_document(args.org, document, rt.actor, args.note or f"imported from {path.name}",
                                     dry_run=args.dry_run, allow_empty=args.allow_empty)
    changes = result.changes
    if not result.ok:
        problems = list(result.problems)
        if problems[0].code == "no_reference_data":
            raise NeedsPersonError(problems[0].message)
        emit(args, {"saved": False, "problems": [asdict(p) for p in problems], "changes": changes.as_json()},
             f"Not imported: {len(problems)} problem(s) in {args.file}:\n{_problems_text(problems)}")
        return 1
    if result.saved is None:
        emit(args, {"saved": False, "dry_run": True, "changes": changes.as_json()},
             f"{args.file} is valid ({len(result.rules)} rules; {changes.summary()}); nothing saved (--dry-run).")
        return 0
    view = result.saved
    emit(args, {"saved": True, "active": view.is_active, "organization": view.organization_code,
                "version": view.version, "rules": len(view.rules), "changes": changes.as_json()},
         f"Imported {len(view.rules)} rules into {view.organization_code}: version {view.version} " +
         ("is active" if view.is_active else "waits for a second admin's approval (`returns-ledger approvals list`)")
         + f" ({changes.summary()}).")
    return 0


def _history(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.mapping.service import MappingService
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        rows = MappingService(rt.database, rt.clock, rt.bus).history(args.org)
    data = [{"version": r.version, "created_by": r.created_by, "created_at": r.created_at.isoformat(),
             "note": r.note, "active": r.is_active, "rules": r.rule_count} for r in rows]
    text = "\n".join(f"{'*' if r.is_active else ' '} v{r.version}  {r.created_at:%Y-%m-%d %H:%M}Z  "
                     f"{r.created_by}  {r.rule_count} rules  {r.note or ''}".rstrip() for r in rows)
    emit(args, data, text or f"{args.org} has no mapping yet.")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    mapping = sub.add_parser("mapping", help="export, import and list mapping sets", parents=[common])
    actions = mapping.add_subparsers(dest="mapping_command", metavar="ACTION", required=True)

    export = actions.add_parser("export", parents=[common], help="write an organization's mapping as YAML or JSON")
    export.add_argument("--org", required=True, help="the organization's code")
    export.add_argument("--format", choices=("yaml", "json"), default="yaml", help="file format (default yaml)")
    export.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    export.add_argument("--version", type=int, metavar="N", help="an older version instead of the active one")
    export.set_defaults(handler=_export)

    imp = actions.add_parser("import", parents=[common, json_opt],
                             help="validate a YAML/JSON mapping (or a template) and save it as the next version")
    imp.add_argument("file", metavar="FILE", help="the mapping file ('-' for standard input)")
    imp.add_argument("--org", required=True, help="the organization's code")
    imp.add_argument("--note", help="why (kept with the version and in the audit log)")
    imp.add_argument("--dry-run", action="store_true", help="validate and show the changes; save nothing")
    imp.add_argument("--allow-empty", action="store_true",
                     help="accept a file without rules (it removes every rule of the mapping)")
    imp.set_defaults(handler=_import)

    history = actions.add_parser("history", parents=[common, json_opt], help="list an organization's versions")
    history.add_argument("--org", required=True, help="the organization's code")
    history.set_defaults(handler=_history)
