"""``returns-ledger rms set-aside [--org ORG]`` and ``returns-ledger rms repull --org ORG``.

When the RMS keeps answering one part of its returns feed with something the app cannot read (an
error page instead of data), the app sets that part aside after a few attempts so the returns after
it keep coming (``desktop/services/rms/feed_guard.py``). ``set-aside`` lists what was set aside and
what the RMS sent instead; ``repull`` asks the RMS for it again — once the RMS vendor has fixed the
cause — and ingests what it now sends (exit 0), or lists what is still unreadable (exit 1).
"""

from __future__ import annotations

import argparse
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig


def _window_text(org: str, w: Any) -> str:
    tried = f"; asked again {w.retries} time{'' if w.retries == 1 else 's'}" if w.retries else ""
    return (f"  {org}: {w.revisions} return revision{'' if w.revisions == 1 else 's'} set aside on "
            f"{w.set_aside_at[:16].replace('T', ' ')} UTC after {w.attempts} attempts{tried} — the RMS answered: "
            f"{w.what} ({w.content_type}): {w.excerpt[:120]}")


def _list(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.rms.feed_guard import set_aside_windows
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        windows = set_aside_windows(rt.database, args.org)
    data = {org: [vars(w) for w in ws] for org, ws in windows.items()}
    count = sum(len(ws) for ws in windows.values())
    if not count:
        emit(args, data, "Nothing is set aside: every part of the RMS feed was read.")
        return 0
    lines = [f"{count} part{'' if count == 1 else 's'} of the RMS feed set aside (not in this app yet):"]
    lines += [_window_text(org, w) for org, ws in windows.items() for w in ws]
    lines.append("Ask the RMS vendor to fix what it sends; then run `returns-ledger rms repull --org ORG`.")
    emit(args, data, "\n".join(lines))
    return 0


def _repull(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.core.errors import ConfigurationError
    from desktop.services.rms.ingest import IngestService
    from desktop.services.runtime import open_runtime, rms_client_factory
    with open_runtime(config) as rt:
        client = rms_client_factory(rt.database, rt.vault)(args.org)
        if client is None:
            raise ConfigurationError("No RMS is connected", action="connect the RMS (Settings → RMS) first")
        result, windows = IngestService(rt.database, rt.bus, rt.clock).repull(args.org, client, rt.actor)
    data = {"recovered": len(windows.recovered), "still_unreadable": len(windows.still_unreadable),
            **result.counts()}
    if not windows.recovered and not windows.still_unreadable:
        emit(args, data, f"Nothing of {args.org} is set aside: there is nothing to read again.")
        return 0
    lines = [f"{args.org}: {len(windows.recovered)} set-aside part(s) read again — {result.ingested} ingested, "
             f"{result.quarantined} quarantined, {result.unchanged} already here"]
    if windows.still_unreadable:
        lines.append(f"{len(windows.still_unreadable)} still unreadable (ask the RMS vendor; run this again later):")
        lines += [_window_text(args.org, w) for w in windows.still_unreadable]
    emit(args, data, "\n".join(lines))
    return 1 if windows.still_unreadable else 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    p = sub.add_parser("rms", help="parts of the RMS feed set aside because the RMS sent them unreadably",
                       parents=[common, json_opt])
    actions = p.add_subparsers(dest="rms_action", required=True)
    listing = actions.add_parser("set-aside", help="list what was set aside and what the RMS sent instead",
                                 parents=[common, json_opt])
    listing.add_argument("--org", help="one organization (default: all)")
    listing.set_defaults(handler=_list)
    again = actions.add_parser("repull", help="ask the RMS for the set-aside parts again and ingest them",
                               parents=[common, json_opt])
    again.add_argument("--org", required=True, help="the organization's RMS code, e.g. ACME-US")
    again.set_defaults(handler=_repull)
