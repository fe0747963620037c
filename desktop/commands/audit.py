"""``returns-ledger audit verify|export|key``: check the sealed audit trail, export it, move its key.

- ``audit verify [--json]`` checks every entry's seal, the sequence and the links, then compares the
  trail with the checkpoint in the data directory (and moves the checkpoint forward when all holds).
  Exit 0 when intact; 6 (``audit_tampered`` in ``core/failures.py``) naming the first bad entry and
  what is wrong with it otherwise.
- ``audit export FILE [--actor NAME] [--org ORG] [--rma RMA]`` writes the matching entries as CSV,
  verified first, ending with a ``# checkpoint`` line.
- ``audit key export FILE|-`` (admins) writes the trail's key as one line of text to a file the
  admin chooses, created readable by its owner only (``-``: standard output); ``audit key import
  FILE|-`` puts it into this account's keyring. In shared-PostgreSQL mode everyone who works on the
  database needs it. Both are recorded in the trail; the key itself never is.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig

KEY_TEXT_LIMIT = 4096


def _trail(rt: Any, config: AppConfig) -> Any:
    from desktop.services.admin.audit_trail import AuditTrail
    return AuditTrail(rt.database, data_dir=config.data_dir, clock=rt.clock)


def _verdict(report: Any) -> str:
    if report.intact:
        sealed = (f"sealed from entry #{report.keyed_from}" if report.keyed_from else "nothing sealed yet")
        legacy = f", {report.legacy_entries:,} older unsealed entries before it" if report.legacy_entries else ""
        return (f"The audit trail is intact: {report.entries:,} entries ({sealed}{legacy}).\n"
                f"Checkpoint: {report.checkpoint}")
    where = f"first bad entry #{report.first_broken_seq}: " if report.first_broken_seq is not None else ""
    return (f"The audit trail does NOT verify — {where}{report.reason}.\n"
            f"Checkpoint: {report.checkpoint or 'not updated'}")


def _verify(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.admin.audit_checkpoint import FILE_NAME
    from desktop.services.core.failures import EXIT_CODES
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        report = _trail(rt, config).verify(rt.actor)
    data = {**report.as_json(), "checkpoint_file": str(config.data_dir / FILE_NAME)}
    emit(args, data, _verdict(report))
    return EXIT_CODES["ok"] if report.intact else EXIT_CODES["audit_tampered"]


def _export(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.admin.audit_trail import AuditFilter
    from desktop.services.core.failures import EXIT_CODES
    from desktop.services.runtime import open_runtime
    path = Path(args.file)
    with open_runtime(config) as rt:
        done = _trail(rt, config).export_csv(rt.actor, AuditFilter(actor=args.actor, organization=args.org,
                                                                   rma=args.rma), path)
    data = {"file": str(path), "entries": done.entries, "intact": done.report.intact,
            "first_broken_seq": done.report.first_broken_seq, "reason": done.report.reason,
            "checkpoint": done.checkpoint.as_json() if done.checkpoint else None}
    text = f"Exported {done.entries:,} entries to {path}.\n{_verdict(done.report)}"
    emit(args, data, text)
    return EXIT_CODES["ok"] if done.report.intact else EXIT_CODES["audit_tampered"]


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only; refuse to overwrite an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def _key_export(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.core.errors import NeedsPersonError
    from desktop.services.runtime import open_runtime
    to_stdout = args.file == "-"
    path = Path(args.file)
    if not to_stdout and path.exists():
        raise NeedsPersonError(f"{path} exists already; the key is never written over a file",
                               action="choose a new file name")
    with open_runtime(config) as rt:
        text = _trail(rt, config).export_key(rt.actor, "standard output" if to_stdout else path.name)
    if to_stdout:
        sys.stdout.write(text + "\n")
        return 0
    _write_private(path, text)
    emit(args, {"file": str(path)}, f"Wrote the audit key to {path} (readable by you only). Move it to the other "
                                    "account, run `returns-ledger audit key import` there, then delete the file.")
    return 0


def _key_import(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.core.errors import NeedsPersonError
    from desktop.services.core.safe_input import read_capped
    from desktop.services.runtime import open_runtime
    source = sys.stdin.buffer if args.file == "-" else Path(args.file)
    raw = read_capped(source, KEY_TEXT_LIMIT, name="standard input" if args.file == "-" else None)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise NeedsPersonError("This is not an exported audit key",
                               action="use the text written by `returns-ledger audit key export`") from None
    with open_runtime(config) as rt:
        kid, chain = _trail(rt, config).import_key(rt.actor, text)
    if chain is not None and chain != kid:
        emit(args, {"key_id": kid, "trail_key_id": chain, "matches": False},
             f"Imported audit key {kid} into your keyring, but this database's trail is sealed with key {chain}: "
             "import that one to work with this database.")
        return 1
    emit(args, {"key_id": kid, "trail_key_id": chain, "matches": True},
         f"Imported audit key {kid} into your keyring.")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("audit", help="verify and export the sealed audit trail; move its key",
                       parents=[common])
    actions = p.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    v = actions.add_parser("verify", parents=[common, json_opt],
                           help="check every entry and the checkpoint; exit 6 naming the first bad entry")
    v.set_defaults(handler=_verify)
    e = actions.add_parser("export", parents=[common, json_opt],
                           help="write the trail (or the entries matching the filters) as CSV with a checkpoint line")
    e.add_argument("file", metavar="FILE", help="the CSV file to write")
    e.add_argument("--actor", metavar="NAME", help="only entries by this person (or 'system')")
    e.add_argument("--org", metavar="ORG", help="only entries about this organization")
    e.add_argument("--rma", metavar="RMA", help="only entries about this return")
    e.set_defaults(handler=_export)
    k = actions.add_parser("key", parents=[common], help="move the trail's key between keyrings")
    key_actions = k.add_subparsers(dest="key_action", metavar="ACTION", required=True)
    ke = key_actions.add_parser("export", parents=[common, json_opt],
                                help="write the key to FILE (owner-only, never overwritten) or '-' (stdout); admins")
    ke.add_argument("file", metavar="FILE|-")
    ke.set_defaults(handler=_key_export)
    ki = key_actions.add_parser("import", parents=[common, json_opt],
                                help="read a key written by 'audit key export' from FILE or '-' (stdin)")
    ki.add_argument("file", metavar="FILE|-")
    ki.set_defaults(handler=_key_import)
