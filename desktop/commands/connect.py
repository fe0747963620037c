"""``returns-ledger connect`` and ``returns-ledger connections``: ledgers from a terminal.

``connect`` runs the same sign-in as the Connections page, but in the user's own browser: a
loopback listener (RFC 8252) receives the redirect, the tokens go to the OS keyring and the
reference data is cached, exactly as the app does it. Secrets never come from argv (they would
show in ``ps`` and shell history): a client secret or the sandbox's start-up JSON is read from
stdin.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.commands import emit
from desktop.services.core.config import AppConfig

if TYPE_CHECKING:
    from desktop.services.auth.roles import Actor
    from desktop.services.connections.service import ConnectionService, ConnectionSummary
_CONNECT_EPILOG = """\
Client details: a QuickBooks Online app needs its client id and secret (Intuit developer portal,
Keys & credentials); a Xero PKCE app only its client id. Give them once with --client-id and
--client-secret-stdin (the secret is read from stdin, never from the command line); they are
remembered (the secret in the OS keyring) for later connections. This command signs in through
your browser and a listener on this computer: register http://localhost:PORT/callback with the
app and give it as --loopback-redirect-uri.

Local sandbox (--env local): start `returns-ledger sandbox serve`, which prints one JSON line with
the sandbox's address and its demo apps, and pipe that line in:
  returns-ledger sandbox serve > sandbox.json &
  returns-ledger connect --org ACME-US --platform qbo --env local --sandbox-info sandbox.json
(or `--sandbox-info -` to read it from stdin). Alternatively give --sandbox URL (the sandbox's
root, checked through URL/_sandbox/health) with --client-id and, for QuickBooks Online,
--client-secret-stdin.

The sign-in address is printed on stderr; progress goes to stderr; the result to stdout.
"""


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _read_stdin_once(args: argparse.Namespace) -> str:
    if getattr(args, "_stdin_used", False):
        raise SystemExit("error: only one of --client-secret-stdin and --sandbox-info - can read stdin")
    args._stdin_used = True
    return sys.stdin.readline().strip()


def _sandbox_info(args: argparse.Namespace) -> dict[str, Any] | None:
    source = args.sandbox_info
    if not source:
        return None
    text = _read_stdin_once(args) if source == "-" else Path(source).read_text(encoding="utf-8")
    from desktop.services.core.errors import ConfigurationError
    try:
        info = json.loads(text.strip().splitlines()[0] if text.strip() else "", parse_float=Decimal)
    except (json.JSONDecodeError, IndexError) as exc:
        raise ConfigurationError("The sandbox information is not the JSON line `sandbox serve` prints",
                                 action="pipe in the first line `returns-ledger sandbox serve` printed") from exc
    if not isinstance(info, dict) or "control_url" not in info:
        raise ConfigurationError("The sandbox information has no control_url",
                                 action="pipe in the first line `returns-ledger sandbox serve` printed")
    return info


def _check_sandbox(url: str) -> str:
    """The sandbox root, after its health endpoint answered."""
    import requests

    from desktop.services.core.errors import ConfigurationError
    from desktop.services.platforms.http import check_transport
    root = url.rstrip("/")
    check_transport(root)
    try:
        resp = requests.get(f"{root}/_sandbox/health", timeout=10)
        ok = resp.status_code == 200 and resp.json().get("status") == "ok"
    except (requests.RequestException, ValueError):
        ok = False
    if not ok:
        raise ConfigurationError(f"No sandbox answers at {root}",
                                 action="start `returns-ledger sandbox serve` and give the address it printed")
    return root


def _register_app(args: argparse.Namespace, connections: ConnectionService, actor: Actor) -> None:
    """Register (or update) the OAuth app for this platform and environment, if told to."""
    from desktop.services.auth.platforms import Environment, Platform
    from desktop.services.demo import configure_local_apps
    platform, environment = Platform(args.platform), Environment(args.env)
    info = _sandbox_info(args)
    if info is not None:
        if environment is not Environment.LOCAL:
            raise SystemExit("error: --sandbox-info only goes with --env local")
        configure_local_apps(connections, actor, info)
        return
    sandbox_url = _check_sandbox(args.sandbox) if args.sandbox else None
    if args.client_id is None:
        if sandbox_url:
            raise SystemExit("error: --sandbox needs --client-id (or use --sandbox-info)")
        if args.client_secret_stdin or args.redirect_uri or args.loopback_redirect_uri:
            raise SystemExit("error: --client-secret-stdin and the redirect URIs go with --client-id")
        return
    if environment is Environment.LOCAL and not sandbox_url:
        raise SystemExit("error: --env local with --client-id needs --sandbox URL")
    secret = _read_stdin_once(args) if args.client_secret_stdin else None
    redirect = args.redirect_uri or args.loopback_redirect_uri or "http://localhost/callback"
    connections.apps.configure(actor, platform, environment, client_id=args.client_id, client_secret=secret or None,
                               redirect_uri=redirect, sandbox_url=sandbox_url,
                               loopback_redirect_uri=args.loopback_redirect_uri)


def _open_browser(url: str) -> bool:
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def _connect(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.auth.platforms import Environment, Platform, platform_label
    from desktop.services.runtime import open_runtime
    platform, environment = Platform(args.platform), Environment(args.env)
    with open_runtime(config) as rt:
        _register_app(args, rt.connections, rt.actor)
        sign_in = rt.connections.begin_sign_in(rt.actor, args.org, platform, environment, tenant_id=args.tenant)
        url = sign_in.begin_system_browser()
        try:
            if args.browser == "system" and _open_browser(url):
                _say(f"Your browser is open at the {platform_label(platform)} sign-in. If it is not, open:")
            else:
                _say(f"Open this address in a browser on this computer to sign in to {platform_label(platform)}:")
            _say(url)
            summary = sign_in.wait_system_browser(args.timeout, report=_say)
        finally:
            sign_in.cancel_system_browser()
        emit(args, summary.as_json(),
             f"Connected {summary.org_code} to {platform_label(summary.platform)} company "
             f"“{summary.company_name}” ({summary.company_id}): {summary.state_text}.")
    return 0


def _table(rows: list[ConnectionSummary], now: datetime) -> str:
    from desktop.services.auth.platforms import environment_label, platform_label
    from desktop.services.connections.details import countdown, sign_in_expiry
    if not rows:
        return "No connections yet. Connect one with `returns-ledger connect` or on the Connections page."
    header = ("ORG", "LEDGER", "ENVIRONMENT", "COMPANY", "STATUS", "ACCESS", "SIGN-IN")
    lines = [header] + [(r.org_code, platform_label(r.platform), environment_label(r.environment),
                         r.company_name or r.company_id, r.state_text, countdown(r.access_expires_at, now),
                         countdown(sign_in_expiry(r.refresh_expires_at, r.hard_expires_at), now))
                        for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def _connections(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.services.runtime import open_runtime
    with open_runtime(config) as rt:
        rows = rt.connections.summaries()
        emit(args, [r.as_json() for r in rows], _table(rows, rt.clock.now()))
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    connect = sub.add_parser(
        "connect", parents=[common, json_opt], help="connect an organization to QuickBooks Online or Xero",
        description="Sign in to QuickBooks Online or Xero in a browser and connect an organization's ledger.",
        epilog=_CONNECT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    connect.add_argument("--org", required=True, help="the organization's code in the returns system")
    connect.add_argument("--platform", required=True, choices=("qbo", "xero"), help="the ledger")
    connect.add_argument("--env", required=True, choices=("production", "development", "local"),
                         help="production, development (Intuit sandbox companies) or local (the emulators)")
    connect.add_argument("--browser", choices=("system", "none"), default="system",
                         help="system: open your browser; none: print the address and wait (default system)")
    connect.add_argument("--tenant", metavar="ID", help="Xero: which of the authorized organisations to connect")
    connect.add_argument("--sandbox", metavar="URL", help="the local sandbox's root URL (with --client-id)")
    connect.add_argument("--sandbox-info", metavar="FILE", help="the JSON `sandbox serve` printed ('-' for stdin)")
    connect.add_argument("--client-id", metavar="ID", help="register this OAuth app before signing in")
    connect.add_argument("--client-secret-stdin", action="store_true", help="read the app's client secret from stdin")
    connect.add_argument("--redirect-uri", metavar="URI", help="the redirect URI registered with the app")
    connect.add_argument("--loopback-redirect-uri", metavar="URI",
                         help="a registered http://localhost:PORT/callback for browser sign-in (platforms that "
                              "need an exact URI); without it any free port is used")
    connect.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                         help="how long to wait for the sign-in (default 600)")
    connect.set_defaults(handler=_connect)
    sub.add_parser("connections", parents=[common, json_opt], help="list ledger connections and their health"
                   ).set_defaults(handler=_connections)
