"""``returns-ledger sandbox serve``: the QuickBooks / Xero / RMS emulators on loopback."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.services.core.config import AppConfig


def _serve(args: argparse.Namespace, config: AppConfig) -> int:
    from desktop.sandbox.server import serve_forever

    return serve_forever(host=args.host, port=args.port, seed=args.seed)


def register(sub: Any, common: argparse.ArgumentParser, json_opt: argparse.ArgumentParser) -> None:
    sb = sub.add_parser("sandbox", help="local QuickBooks / Xero / RMS emulators", parents=[common])
    actions = sb.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="serve the emulators on loopback; prints one JSON line",
                               parents=[common])
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument("--seed", type=int, default=1, help="seed for the generated demo data")
    serve.set_defaults(handler=_serve)
