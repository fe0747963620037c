"""``returns-ledger demo init [--sandbox URL]``: the set-up ``--demo`` performs, into a data directory.

Connects every demo organization to its sandbox company through the real sign-in flow (the
sandbox's simulated consent stands in for the person clicking "Connect"), caches reference data,
remembers the sandbox RMS (its API key in the OS keyring), learns each organization's RMS profile,
applies the default mapping template and makes webhook secrets (keyring) for ``worker --webhook-port``.
Afterwards ``sync --once`` and ``worker`` run against it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig

_EPILOG = """\
For a demo that lasts, start the sandbox first and point demo init at it:
  returns-ledger sandbox serve &            # prints one JSON line with its address
  returns-ledger demo init --sandbox http://127.0.0.1:PORT
  returns-ledger sync --once
Without --sandbox, demo init starts a sandbox inside this command; it stops when the command
ends, so the connections it made point at a sandbox that is gone (useful only to try the set-up).
"""


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def fetch_sandbox_info(url: str) -> dict[str, Any]:
    """The start-up info of a running sandbox (``GET URL/_sandbox/info``)."""
    import json
    from decimal import Decimal

    import requests

    from desktop.services.core.errors import ConfigurationError
    from desktop.services.platforms.http import check_transport
    root = url.rstrip("/")
    check_transport(root)
    try:
        resp = requests.get(f"{root}/_sandbox/info", timeout=15)
        info = json.loads(resp.content, parse_float=Decimal) if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        info = None
    if not isinstance(info, dict) or "control_url" not in info or "rms" not in info:
        raise ConfigurationError(f"No sandbox answers at {root}",
                                 action="start `returns-ledger sandbox serve` and give the address it printed")
    return info


def _init(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.demo import set_up_demo
    from desktop.services.mapping.service import MappingService
    from desktop.services.runtime import open_runtime
    server = None
    if args.sandbox:
        info = fetch_sandbox_info(args.sandbox)
    else:
        from desktop.sandbox.server import SandboxServer

        _say("No --sandbox given: starting a sandbox for this command only (it stops when the command ends).")
        server = SandboxServer(seed=1)
        info = server.start()
    try:
        with open_runtime(config) as rt:
            done = set_up_demo(rt.database, rt.bus, rt.clock, rt.vault, rt.connections,
                               MappingService(rt.database, rt.clock, rt.bus), rt.actor, info, report=_say)
            connected, mappings = done.connected, done.mappings
    finally:
        if server is not None:
            server.stop()
    orgs = [{"code": org.code, "platform": org.platform.value, "company": org.company,
             "mapping_version": mappings.get(org.code, {}).get("version")} for org, _summary in connected]
    lines = [f"Connected {len(orgs)} demo organizations:"]
    lines += [f"  {o['code']:<10} {o['platform']:<5} {o['company']}  (mapping v{o['mapping_version']})"
              for o in orgs]
    emit(args, {"organizations": orgs}, "\n".join(lines))
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    demo = sub.add_parser("demo", help="set up the demo organizations against a sandbox", parents=[common])
    actions = demo.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    init = actions.add_parser(
        "init", parents=[common, json_opt], epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        help="connect the demo organizations, cache reference data, apply default mappings",
        description="Do what --demo does at start-up, into --data-dir: connect every demo organization\n"
                    "through the sandbox's simulated consent, cache reference data, remember the sandbox\n"
                    "RMS and apply the default mapping templates.")
    init.add_argument("--sandbox", metavar="URL",
                      help="root of a running `returns-ledger sandbox serve` (what you want for a demo that "
                           "lasts); without it a sandbox runs only while this command does")
    init.set_defaults(handler=_init)
