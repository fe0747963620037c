"""``returns-ledger rms``: the returns system (RMS) from a terminal — ``connect``, ``status``,
``set-aside`` and ``repull``.

``connect`` does what the Connections page's RMS tile and the set-up assistant do: a test call
(the organizations the API key can see), then the address is saved as a setting and the key in
the OS keyring. The key never comes from the command line (it would show in ``ps`` and shell
history): it is read from a hidden prompt on a terminal, else from the first line of stdin.
``status`` shows what is configured (``--test`` also makes the test call).

When the RMS keeps answering one part of its returns feed with something the app cannot read (an
error page instead of data), the app sets that part aside after a few attempts so the returns after
it keep coming (``desktop/services/rms/feed_guard.py``). ``set-aside`` lists what was set aside and
what the RMS sent instead; ``repull`` asks the RMS for it again — once the RMS vendor has fixed the
cause — and ingests what it now sends (exit 0), or lists what is still unreadable (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig

if TYPE_CHECKING:
    from desktop.services.rms.endpoint import RmsOrganization, RmsStatus

_CONNECT_EPILOG = """\
The API key is asked for without echo when you run this in a terminal; otherwise the first line
of stdin is read, e.g.
  printf '%s\\n' "$RMS_KEY" | returns-ledger rms connect --url https://rms.example.com/rms
Nothing is saved unless the RMS answers with the organizations the key can see. An admin only.

Exit codes: 0 connected · 2 the address or key was refused (nothing saved) · 3 not an admin ·
75 the RMS did not answer (try again).
"""


def _read_key() -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass("RMS API key (not shown): ")
    return (sys.stdin.readline() if sys.stdin is not None else "").strip()


def _org_lines(orgs: list[RmsOrganization]) -> str:
    return "\n".join(f"  {o.text}" for o in orgs) if orgs else "  (none: ask the RMS administrator for access)"


def _connect(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.rms.endpoint import RmsEndpoint
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        from desktop.services.auth.roles import Action
        rt.actor.require(Action.MANAGE_CONNECTIONS)  # before asking for a key (the service checks again)
        endpoint = RmsEndpoint(rt.database, rt.vault, rt.clock, rt.bus)
        key = _read_key()
        orgs = endpoint.connect(rt.actor, args.url, key or None)
        status = endpoint.status()
        emit(args, {**status.as_json(), "organizations": [o.as_json() for o in orgs]},
             f"Connected to the returns system at {status.base_url}; the API key is in this computer's keyring.\n"
             f"It sees {len(orgs)} organization{'' if len(orgs) == 1 else 's'}:\n{_org_lines(orgs)}")
    return 0


def _status_text(status: RmsStatus, orgs: list[RmsOrganization] | None) -> str:
    if status.base_url is None:
        return "The returns system (RMS) is not connected. Connect it with `returns-ledger rms connect --url URL`."
    lines = [f"Returns system: {status.state_text}", f"Address: {status.base_url}",
             f"API key: {'in this computer’s keyring' if status.has_key else 'not in this computer’s keyring'}"]
    if status.updated_at is not None:
        lines.append(f"Set by {status.updated_by} on {status.updated_at.astimezone():%Y-%m-%d %H:%M}")
    if orgs is not None:
        lines.append(f"Test call: it sees {len(orgs)} organization{'' if len(orgs) == 1 else 's'}:")
        lines.append(_org_lines(orgs))
    return "\n".join(lines)


def _status(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.rms.endpoint import RmsEndpoint
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        endpoint = RmsEndpoint(rt.database, rt.vault, rt.clock, rt.bus)
        status = endpoint.status()
        orgs = endpoint.test(rt.actor) if args.test and status.configured else None
        data: dict[str, Any] = status.as_json()
        if orgs is not None:
            data["organizations"] = [o.as_json() for o in orgs]
        emit(args, data, _status_text(status, orgs))
    return 0 if status.configured else 1


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
            raise ConfigurationError("No RMS is connected", action="connect it first with `returns-ledger rms "
                                     "connect --url URL` (or under Connections → Returns system)")
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
    rms = sub.add_parser("rms", parents=[common],
                         help="connect the returns system (RMS), check it, re-read set-aside parts of its feed",
                         description="The returns system (RMS): its address and API key, and parts of its returns "
                         "feed set aside because the RMS sent them unreadably.")
    rms_sub = rms.add_subparsers(dest="rms_command", metavar="ACTION", required=True)
    connect = rms_sub.add_parser(
        "connect", parents=[common, json_opt], help="test and save the RMS address and API key (admin)",
        description="Test the RMS address and API key (listing the organizations it sees), then save them.",
        epilog=_CONNECT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    connect.add_argument("--url", required=True, metavar="URL",
                         help="the RMS API's address, e.g. https://rms.example.com/rms")
    connect.set_defaults(handler=_connect)
    status = rms_sub.add_parser(
        "status", parents=[common, json_opt], help="show the RMS address and whether its key is stored",
        description="Show the configured RMS. Exit 0 when connected, 1 when not (or the key is missing).")
    status.add_argument("--test", action="store_true", help="also make a test call and list the organizations")
    status.set_defaults(handler=_status)
    listing = rms_sub.add_parser(
        "set-aside", parents=[common, json_opt], help="list what of the RMS feed was set aside and what the RMS sent",
        description="List the parts of the RMS feed set aside because the RMS answered them unreadably.")
    listing.add_argument("--org", help="one organization (default: all)")
    listing.set_defaults(handler=_list)
    again = rms_sub.add_parser(
        "repull", parents=[common, json_opt], help="ask the RMS for the set-aside parts again and ingest them",
        description="Ask the RMS again for the set-aside parts of an organization's feed and ingest what it now "
                    "sends. Exit 0 when all were read, 1 while some stay unreadable.")
    again.add_argument("--org", required=True, help="the organization's RMS code, e.g. ACME-US")
    again.set_defaults(handler=_repull)
