"""The sandbox HTTP server: QBO, Xero and the RMS on loopback, plus the ``/_sandbox`` control API.

One threaded Werkzeug server routes by path prefix (``/qbo``, ``/xero``, ``/rms``, ``/_sandbox``)
to the emulators, applying fault-injection rules first. The app under test reaches it only over
HTTP, exactly as it would reach the real services, so everything the emulators do is observable
the same way real behaviour would be.

Dropping a connection on purpose (``reset_connection`` / ``commit_then_drop`` faults) works by
raising :class:`_DropConnection`, a :class:`ConnectionError`: Werkzeug routes connection errors to
the handler's ``connection_dropped`` hook instead of logging a traceback, and our hook arms
``SO_LINGER`` with a zero timeout and closes the socket, so the client sees a TCP reset and no
bytes of any response.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable
from types import FrameType, TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from desktop.sandbox.base import Emulator, SandboxContext
from desktop.sandbox.control import ControlApi
from desktop.sandbox.faults import FaultInjector
from desktop.sandbox.qbo import QboEmulator
from desktop.sandbox.rms import RmsEmulator
from desktop.sandbox.usage import UsageMeter
from desktop.sandbox.xero import XeroEmulator

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_sandbox"


class _DropConnection(ConnectionError):
    """Raised inside the WSGI app to make the handler drop the TCP connection without answering."""


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler, made quiet (request lines at DEBUG) and able to drop connections."""

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        if not isinstance(error, _DropConnection):
            return  # the client went away first: nothing to do, nothing worth a log line
        self.close_connection = True
        with contextlib.suppress(OSError):
            # Linger 0 turns close() into a RST: the client gets ECONNRESET / "remote end closed",
            # never a partial response. The fd really closes once socketserver closes rfile.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.INFO if type == "error" else logging.DEBUG
        if log.isEnabledFor(level):
            try:
                text = message % args if args else message
            except (TypeError, ValueError):
                text = message
            log.log(level, "%s %s", self.address_string(), text.rstrip())


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPv4/IPv6 literals; everything else is refused."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load_emulators(ctx: SandboxContext) -> dict[str, Emulator]:
    """One instance of every emulator, keyed by its mount name."""
    emulators: list[Emulator] = [QboEmulator(ctx), XeroEmulator(ctx), RmsEmulator(ctx)]
    return {e.name: e for e in emulators}


class SandboxServer:
    """The emulators on a loopback port, served from a daemon thread; use as a context manager."""

    def __init__(self, seed: int = 1, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox serves plain HTTP and binds loopback only; refusing host {host!r}")
        self.seed = seed
        self.host = host
        self.port = port
        self.ctx = SandboxContext()
        self.ctx.usage = self.usage = UsageMeter(lambda service: self.ctx.clock(service).now())
        self.faults = FaultInjector(seed)
        self.emulators: dict[str, Emulator] = {}
        self.control: ControlApi | None = None
        self.info: dict[str, Any] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self.ctx.base_url

    def start(self) -> dict[str, Any]:
        """Bind, seed every emulator, start serving; returns the start-up info (also ``.info``)."""
        if self._server is not None:
            return self.info
        try:
            server = make_server(self.host, self.port, self, threaded=True, request_handler=_Handler)
        except SystemExit as exc:  # Werkzeug prints the reason and exits on bind errors
            raise OSError(f"cannot bind the sandbox to {self.host}:{self.port}") from exc
        self.port = server.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.ctx.base_url = f"http://{host}:{self.port}"
        try:
            self.emulators = _load_emulators(self.ctx)
            self.control = ControlApi(self.ctx, self.emulators, self.faults)
            self.control.reset(self.seed)
        except BaseException:
            server.server_close()  # never leave a bound port behind a failed start
            raise
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sandbox-http", daemon=True)
        self._thread.start()
        self.info = {name: emu.describe() for name, emu in self.emulators.items()}
        self.info["control_url"] = f"{self.ctx.base_url}{CONTROL_PREFIX}"
        log.info("sandbox serving at %s", self.ctx.base_url)
        return self.info

    def stop(self) -> None:
        """Stop serving and close every emulator (webhook threads); safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for emulator in self.emulators.values():
            emulator.close()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- WSGI ------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _route(self, path: str) -> tuple[Emulator | None, str]:
        lower = path.lower()
        for name, emulator in self.emulators.items():
            prefix = f"/{name}"
            if lower == prefix or lower.startswith(prefix + "/"):
                return emulator, path[len(prefix):] or "/"
        return None, path

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            assert self.control is not None
            try:
                return self.control.handle(request, path[len(CONTROL_PREFIX):] or "/")
            except Exception:  # a sandbox bug: a JSON 500, and an ERROR record that fails the test
                log.exception("sandbox: control API crashed on %s %s", request.method, path)
                return Response(json.dumps({"error": "internal error in the sandbox control API"}),
                                status=500, mimetype="application/json")
        emulator, subpath = self._route(path)
        if emulator is None:
            return Response(json.dumps({"error": f"no emulated service at {path}"}), status=404,
                            mimetype="application/json")
        decision = self.faults.decide(emulator.name, request.method, path, subpath)
        if decision.delay_s:
            time.sleep(decision.delay_s)
        for held in decision.holds:
            held.hold()
        rule = decision.rule
        if rule is not None and rule.action == "status":
            return emulator.error_response(rule.status, rule.message)
        if rule is not None and rule.action == "reset_connection":
            raise _DropConnection("fault: reset_connection")
        if not self.usage.admit(emulator.name, request, subpath):  # a month's metered reads used up
            return emulator.error_response(429, "The monthly allowance of metered read calls was reached")
        response = self._call(emulator, request, subpath)
        self.usage.record(emulator.name, request, subpath, response)
        if rule is not None and rule.action == "commit_then_drop":
            response.get_data()  # run any lazy body to completion: the work is done, then lost
            response.close()
            raise _DropConnection("fault: commit_then_drop")
        return response

    @staticmethod
    def _call(emulator: Emulator, request: Request, subpath: str) -> Response:
        try:
            return emulator.handle(request, subpath)
        except Exception:  # an emulator bug: answer like the service's 500, and say so loudly
            log.exception("sandbox: %s crashed on %s %s", emulator.name, request.method, request.path)
            return emulator.error_response(500, "Internal server error")


def serve_summary(info: dict[str, Any]) -> str:
    """What ``sandbox serve`` tells a person (on stderr): where it runs and what next, no secrets."""
    root = str(info.get("control_url", "")).rsplit("/_sandbox", 1)[0]
    qbo = len((info.get("qbo") or {}).get("companies", []))
    xero = len((info.get("xero") or {}).get("tenants", []))
    return (f"Sandbox running at {root}: QuickBooks Online ({qbo} companies), Xero ({xero} organisations) "
            f"and RMS emulators.\n"
            f"Next: returns-ledger demo init --sandbox {root} --data-dir DIR   (a folder of its own)\n"
            f"The line on stdout is its JSON start-up info (it holds the demo client secrets and API key). "
            f"Ctrl-C stops it.")


def serve_forever(host: str = "127.0.0.1", port: int = 0, seed: int = 1) -> int:
    """The ``returns-ledger sandbox serve`` command: one JSON line on stdout, serve until signalled."""
    try:
        server = SandboxServer(seed=seed, host=host, port=port)
    except ValueError as exc:  # a non-loopback host: a user error, not a crash
        sys.stderr.write(f"error: {exc}\n")
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        info = server.start()
        sys.stdout.write(json.dumps(info) + "\n")  # the machine-readable line, with the demo secrets
        sys.stdout.flush()
        sys.stderr.write(serve_summary(info) + "\n")
        sys.stderr.flush()
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
