"""The ``/_sandbox/`` control API: what tests and the demo do "from outside" the real services.

Everything here stands in for something a person would do in a real product's UI (approve an
OAuth consent screen, edit a document as an accountant, create returns in the RMS) or for test
plumbing (reset to a seed, inject faults, move a service's clock, read the token log). Answers are
JSON; errors are ``{"error": "..."}`` with 400 (bad request) or 404 (unknown thing).

Endpoints (all relative to ``/_sandbox``)::

    GET  /health                              POST /reset {"seed", "rms": {"bad_ratio", "scale"}?, "firm"?}
    GET|POST|DELETE /faults                   POST /authorize {"service", ...OAuth params}
    GET  /tokens                              POST /config {"service", "rate_limits"?, "clock_offset_s"?}
    GET  /ledger/{service}/{company}          POST /ledger/{service}/{company}/tamper
    POST /webhooks {"service", "url", "key"}  POST /rms/generate {"org", "count", "bad_ratio", "seed", "exchanges"?}
    GET  /rms/writebacks                      GET  /rms/bad
    POST /rms/revise {"id", "status"?}        GET  /info (the start-up JSON ``sandbox serve`` prints)
    GET|DELETE /usage                         POST /usage {"service": "qbo", "monthly_read_quota": N|null}
    POST /rms/unreadable {"id", "revision", "mode", "times"?}  (feed pages holding it answer 200 unreadably;
                                                             "times": 0 heals it)
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from desktop.sandbox.base import Emulator, SandboxContext
from desktop.sandbox.demo_orgs import set_firm
from desktop.sandbox.faults import FaultInjector, FaultRuleError
from desktop.sandbox.rms import RmsEmulator


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _plain(value: Any) -> Any:
    """JSON for what emulators hand back: Decimal as a string (never a float), times as ISO 8601."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=_plain), status=status, mimetype="application/json")


def _int(body: dict[str, Any], name: str, default: int | None = None, minimum: int | None = None) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
        floor = f" >= {minimum}" if minimum is not None else ""
        raise ControlError(400, f"{name} must be an integer{floor}")
    return value


def _ratio(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if not isinstance(value, int | float | Decimal) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ControlError(400, f"{name} must be a number from 0 to 1")
    return float(value)


class ControlApi:
    """Routes ``/_sandbox/*`` to the emulators, the fault injector and the shared context."""

    def __init__(self, ctx: SandboxContext, emulators: dict[str, Emulator], faults: FaultInjector) -> None:
        self.ctx = ctx
        self.emulators = emulators
        self.faults = faults
        self.seed = 1
        self._reset_lock = threading.Lock()

    def reset(self, seed: int, rms_options: dict[str, Any] | None = None) -> None:
        """Back to a fresh world: clocks zeroed, tokens and faults cleared, every emulator reseeded."""
        with self._reset_lock:  # two concurrent resets must not interleave emulator by emulator
            self._reseed(seed, rms_options)

    def _reseed(self, seed: int, rms_options: dict[str, Any] | None) -> None:
        self.seed = seed
        self.faults.clear(seed)
        for clock in self.ctx.clocks.values():
            clock.set_offset(0)
        self.ctx.tokens.clear()
        if self.ctx.usage is not None:
            self.ctx.usage.reset(quotas=True)
        for emulator in self.emulators.values():
            if isinstance(emulator, RmsEmulator):
                emulator.reset(seed, **(rms_options or {}))
            else:
                emulator.reset(seed)

    # --- plumbing --------------------------------------------------------------------------------
    def handle(self, request: Request, subpath: str) -> Response:
        try:
            return self._route(request, subpath.rstrip("/") or "/")
        except ControlError as err:
            return _json({"error": err.message}, err.status)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        raw = request.get_data(as_text=True)
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw, parse_float=Decimal)
        except ValueError as exc:
            raise ControlError(400, f"body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ControlError(400, "body must be a JSON object")
        return body

    def _emulator(self, name: Any) -> Emulator:
        emulator = self.emulators.get(name) if isinstance(name, str) else None
        if emulator is None:
            raise ControlError(404, f"no such service: {name!r} (have {sorted(self.emulators)})")
        return emulator

    def _rms(self) -> RmsEmulator:
        emulator = self.emulators.get("rms")
        assert isinstance(emulator, RmsEmulator)
        return emulator

    def _route(self, request: Request, path: str) -> Response:
        method = request.method
        routes: dict[tuple[str, str], Any] = {
            ("GET", "/health"): self._health, ("GET", "/info"): self._info, ("POST", "/reset"): self._reset,
            ("GET", "/faults"): self._faults_get, ("POST", "/faults"): self._faults_add,
            ("DELETE", "/faults"): self._faults_clear, ("POST", "/authorize"): self._authorize,
            ("GET", "/tokens"): self._tokens, ("POST", "/config"): self._config,
            ("POST", "/webhooks"): self._webhooks, ("POST", "/rms/generate"): self._rms_generate,
            ("GET", "/rms/writebacks"): self._rms_writebacks, ("GET", "/rms/bad"): self._rms_bad,
            ("POST", "/rms/revise"): self._rms_revise, ("POST", "/rms/unreadable"): self._rms_unreadable,
            ("GET", "/usage"): self._usage, ("DELETE", "/usage"): self._usage_reset,
            ("POST", "/usage"): self._usage_quota,
        }
        handler = routes.get((method, path))
        if handler is not None:
            return handler(request)
        m = re.fullmatch(r"/ledger/([^/]+)/([^/]+)(/tamper)?", path)
        if m and method == ("POST" if m.group(3) else "GET"):
            return self._ledger(request, m.group(1), m.group(2), bool(m.group(3)))
        stock = re.fullmatch(r"/stock/([^/]+)/([^/]+)", path)
        if stock and method == "GET":
            return self._stock(stock.group(1), stock.group(2))
        if any(p == path for _, p in routes) or m or stock:
            raise ControlError(400, f"method {method} not allowed on /_sandbox{path}")
        raise ControlError(404, f"no control endpoint /_sandbox{path}")

    # --- endpoints -------------------------------------------------------------------------------
    def _health(self, request: Request) -> Response:
        return _json({"status": "ok", "services": sorted(self.emulators), "seed": self.seed,
                      "base_url": self.ctx.base_url})

    def _info(self, request: Request) -> Response:
        """What ``sandbox serve`` printed at start-up (demo client ids and secrets of this local sandbox),
        so ``demo init --sandbox URL`` can set up against a sandbox another process runs."""
        info: dict[str, Any] = {name: emu.describe() for name, emu in self.emulators.items()}
        info["control_url"] = f"{self.ctx.base_url}/_sandbox"
        return _json(info)

    def _reset(self, request: Request) -> Response:
        body = self._body(request)
        seed = _int(body, "seed", self.seed)
        rms = body.get("rms") or {}
        if not isinstance(rms, dict) or set(rms) - {"bad_ratio", "scale"}:
            raise ControlError(400, 'rms options are {"bad_ratio": 0..1, "scale": > 0}')
        options: dict[str, Any] = {}
        if "bad_ratio" in rms:
            options["bad_ratio"] = _ratio(rms, "bad_ratio", 0.0)
        if "scale" in rms:
            scale = rms["scale"]
            if not isinstance(scale, int | Decimal) or isinstance(scale, bool) or not 0 < scale <= 100:
                raise ControlError(400, "rms.scale must be a number from 0 (exclusive) to 100")
            options["scale"] = float(scale)
        firm = body.get("firm") or {}
        if not isinstance(firm, dict) or set(firm) - {"qbo", "xero"}:
            raise ControlError(400, 'firm is {"qbo": N, "xero": N} (client companies besides the demo four)')
        try:
            set_firm(_int(firm, "qbo", 0, 0), _int(firm, "xero", 0, 0))
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        self.reset(seed, options)
        return _json({"seed": seed})

    def _usage(self, request: Request) -> Response:
        """Requests per service, company and kind, as the platforms meter them (``usage.py``)."""
        return _json(self.ctx.usage.as_json())

    def _usage_reset(self, request: Request) -> Response:
        self.ctx.usage.reset()
        return _json(self.ctx.usage.as_json())

    def _usage_quota(self, request: Request) -> Response:
        body = self._body(request)
        if set(body) != {"service", "monthly_read_quota"}:
            raise ControlError(400, 'body must be {"service": "qbo", "monthly_read_quota": N or null}')
        try:
            self.ctx.usage.set_quota(body["service"], body["monthly_read_quota"])
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        return _json(self.ctx.usage.as_json())

    def _faults_get(self, request: Request) -> Response:
        return _json({"rules": self.faults.as_json()})

    def _faults_add(self, request: Request) -> Response:
        body = self._body(request)
        try:
            rules = self.faults.add(body.get("rules"))
        except FaultRuleError as exc:
            raise ControlError(400, str(exc)) from exc
        return _json({"rules": rules})

    def _faults_clear(self, request: Request) -> Response:
        self.faults.clear()
        return _json({"rules": []})

    def _authorize(self, request: Request) -> Response:
        body = self._body(request)
        emulator = self._emulator(body.get("service"))
        params = {k: v for k, v in body.items() if k != "service"}
        try:
            redirect_url = emulator.authorize(params)
        except NotImplementedError as exc:
            raise ControlError(400, str(exc)) from exc
        except (ValueError, KeyError) as exc:
            raise ControlError(400, f"authorize refused: {exc}") from exc
        return _json({"redirect_url": redirect_url})

    def _tokens(self, request: Request) -> Response:
        return _json({"tokens": self.ctx.tokens.as_json()})

    def _config(self, request: Request) -> Response:
        body = self._body(request)
        emulator = self._emulator(body.get("service"))
        unknown = set(body) - {"service", "rate_limits", "clock_offset_s"}
        if unknown:
            raise ControlError(400, f"unknown config fields: {sorted(unknown)}")
        if "rate_limits" in body:
            limits = body["rate_limits"]
            if limits is not None and not isinstance(limits, dict):
                raise ControlError(400, "rate_limits must be an object or null")
            try:
                emulator.configure(limits)
            except (ValueError, TypeError, KeyError) as exc:
                raise ControlError(400, f"rate_limits refused: {exc}") from exc
        clock = self.ctx.clock(emulator.name)
        if "clock_offset_s" in body:
            offset = body["clock_offset_s"]
            if not isinstance(offset, int | Decimal) or isinstance(offset, bool):
                raise ControlError(400, "clock_offset_s must be a number of seconds")
            clock.set_offset(float(offset))
        return _json({"service": emulator.name, "clock_offset_s": clock.offset_s,
                      "now": clock.now().isoformat()})

    def _ledger(self, request: Request, service: str, company: str, tamper: bool) -> Response:
        emulator = self._emulator(service)
        try:
            if tamper:
                return _json(emulator.tamper(company, self._body(request)))
            return _json({"documents": emulator.ledger_documents(company)})
        except NotImplementedError as exc:
            raise ControlError(400, str(exc)) from exc
        except KeyError as exc:
            raise ControlError(404, f"not found: {exc}") from exc
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc

    def _stock(self, service: str, company: str) -> Response:
        try:
            return _json(self._emulator(service).stock(company))
        except NotImplementedError as exc:
            raise ControlError(400, str(exc)) from exc
        except KeyError as exc:
            raise ControlError(404, f"not found: {exc}") from exc

    def _webhooks(self, request: Request) -> Response:
        body = self._body(request)
        emulator = self._emulator(body.get("service"))
        url, key = body.get("url"), body.get("key")
        if not isinstance(url, str) or not isinstance(key, str) or (url and not key):
            raise ControlError(400, "url and key (strings) are required; an empty url unregisters")
        try:
            emulator.register_webhook(url, key)
        except NotImplementedError as exc:
            raise ControlError(400, str(exc)) from exc
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        return _json({"service": emulator.name, "url": url})

    def _rms_generate(self, request: Request) -> Response:
        body = self._body(request)
        org = body.get("org")
        count = _int(body, "count", 10, minimum=1)
        if count > 10_000:
            raise ControlError(400, "count must be at most 10000 per call")
        bad_ratio = _ratio(body, "bad_ratio", 0.0)
        seed = _int(body, "seed", 1)
        exchanges = _ratio(body, "exchanges", 0.0)  # share of exchanges stating their replacement goods
        try:
            ids, bad = self._rms().generate(str(org), count, bad_ratio, seed, exchanges)
        except KeyError as exc:
            raise ControlError(404, f"no such organization: {org!r}") from exc
        return _json({"generated": ids, "bad": bad})

    def _rms_writebacks(self, request: Request) -> Response:
        return _json({"writebacks": self._rms().store.writebacks()})

    def _rms_bad(self, request: Request) -> Response:
        return _json({"bad": self._rms().bad_records()})

    def _rms_revise(self, request: Request) -> Response:
        body = self._body(request)
        status = body.get("status")
        if status is not None and status not in ("received", "inspected", "refunded", "closed", "cancelled"):
            raise ControlError(400, "status must be a return status")
        try:
            doc = self._rms().revise(str(body.get("id")), status)
        except KeyError as exc:
            raise ControlError(404, f"no such return: {body.get('id')!r}") from exc
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        return _json(doc)

    def _rms_unreadable(self, request: Request) -> Response:
        body = self._body(request)
        times = body.get("times")
        if times is not None:
            times = _int(body, "times", 1, minimum=0)
        try:
            self._rms().make_unreadable(str(body.get("id")), _int(body, "revision", 1, minimum=1),
                                        str(body.get("mode", "html")), times)
        except KeyError as exc:
            raise ControlError(404, f"no such return revision: {body.get('id')!r} {body.get('revision')!r}") from exc
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        return _json({"id": body.get("id"), "revision": body.get("revision"), "times": times})
