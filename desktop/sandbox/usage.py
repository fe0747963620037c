"""Usage metering: every emulator request counted per service, company and kind, as the platforms meter them.

``GET /_sandbox/usage`` answers what a platform's usage page would show; ``DELETE /_sandbox/usage``
starts counting afresh (a new month); ``POST /_sandbox/usage {"service": "qbo",
"monthly_read_quota": N | null}`` sets a monthly allowance of metered reads per company, past which
reads are answered ``429`` as the real service does. ``POST /_sandbox/reset`` clears counts and quotas.

How each platform meters (API_FACTS §1, §5, §9):

* **QuickBooks** (Intuit App Partner Program, 2025+): *CorePlus* calls — data out: queries, reads,
  change data capture, reports — are metered (Builder tier: 500,000 a month, then blocked);
  *Core* calls — data in: create, update, delete, void — are not. OAuth and discovery are not
  metered. Each item of a ``/batch`` counts as its own call (a ``Query`` item as a read, any other
  as a write). UNCONFIRMED, with these fallbacks: whether a batch counts per item for metering
  (Intuit says so for throttling); whether refused calls (4xx) are metered — here every answered
  call is counted; the body of the answer past the allowance — here the same 429 ThrottleExceeded
  fault (code 3001) the per-minute limit sends, its Detail naming the monthly allowance (the app
  reads that, else its own count of the month); the allowance follows the calendar month of the
  service's clock. Xero's daily limit is its rate limit ``per_day`` (``POST /_sandbox/config``).
* **Xero**: every call to the Accounting API (``/api.xro/2.0``) counts against the tenant's limits;
  the 2026 tiers bill egress, so the bytes of each answer are counted too. Reads (GET) and writes
  are shown apart for comparison. Identity and ``/connections`` calls carry no tenant: not counted.
* **RMS**: requests by method, under the organization a change-feed page names (``*`` otherwise).
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

__all__ = ["QBO_READ_KINDS", "UsageMeter", "classify"]

_QBO_API = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<rest>.+)$")
_XERO_API = "/api.xro/2.0/"
#: The QuickBooks kinds that are CorePlus (metered reads).
QBO_READ_KINDS = ("query", "read", "cdc", "report")


def _qbo_batch_kinds(request: Request) -> list[str]:
    """One kind per batch item: a ``Query`` item reads, any other writes (a body we cannot parse: one write)."""
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    except ValueError:
        items = None
    if not isinstance(items, list) or not items:
        return ["write"]
    return ["query" if isinstance(item, dict) and "Query" in item else "write" for item in items]


def classify(service: str, request: Request, subpath: str) -> tuple[str, list[str]] | None:
    """``(company, kinds)`` of one request as ``service`` meters it; None when it is not metered."""
    method = request.method.upper()
    if service == "qbo":
        m = _QBO_API.match(subpath)
        if m is None:
            return None  # OAuth, discovery, consent: not metered
        rest = m.group("rest").lower()
        if rest.startswith("query"):
            return m.group("realm"), ["query"]
        if rest.startswith("cdc"):
            return m.group("realm"), ["cdc"]
        if rest.startswith("reports/"):
            return m.group("realm"), ["report"]
        if rest.startswith("batch"):
            return m.group("realm"), _qbo_batch_kinds(request)
        return m.group("realm"), ["read" if method in ("GET", "HEAD") else "write"]
    if service == "xero":
        if not subpath.lower().startswith(_XERO_API):
            return None
        tenant = request.headers.get("xero-tenant-id", "").strip()
        return (tenant or "*"), ["read" if method in ("GET", "HEAD") else "write"]
    if service == "rms":
        return (request.args.get("organization") or "*"), ["read" if method in ("GET", "HEAD") else "write"]
    return None


class _Company:
    def __init__(self) -> None:
        self.kinds: dict[str, int] = defaultdict(int)
        self.requests = 0
        self.response_bytes = 0
        self.month_reads: dict[str, int] = defaultdict(int)  # metered reads by calendar month (quota)


class UsageMeter:
    """Thread-safe counters behind ``/_sandbox/usage``; ``now(service)`` is the service's clock."""

    def __init__(self, now: Callable[[str], datetime]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._companies: dict[tuple[str, str], _Company] = {}
        self._quotas: dict[str, int | None] = {}
        self.since = now("qbo")

    def reset(self, *, quotas: bool = False) -> None:
        with self._lock:
            self._companies.clear()
            self.since = self._now("qbo")
            if quotas:
                self._quotas.clear()

    def set_quota(self, service: str, monthly_reads: int | None) -> None:
        if service != "qbo":
            raise ValueError("a monthly read quota applies to qbo (QuickBooks meters reads; Xero limits calls)")
        if monthly_reads is not None and (isinstance(monthly_reads, bool) or not isinstance(monthly_reads, int)
                                          or monthly_reads < 0):
            raise ValueError("monthly_read_quota must be a whole number of reads (0 or more) or null")
        with self._lock:
            self._quotas[service] = monthly_reads

    def _month(self, service: str) -> str:
        return self._now(service).strftime("%Y-%m")

    def admit(self, service: str, request: Request, subpath: str) -> bool:
        """Count a metered read against this month's allowance; False (answer 429) once it is used up.

        Checked and counted under one lock, so requests arriving together never overshoot it.
        """
        found = classify(service, request, subpath) if service == "qbo" else None
        reads = sum(1 for k in found[1] if k in QBO_READ_KINDS) if found else 0
        if not found or not reads:
            return True
        month = self._month(service)
        quota = self._quotas.get(service)
        with self._lock:
            company = self._companies.setdefault((service, found[0]), _Company())
            if quota is not None and company.month_reads[month] >= quota:
                return False
            company.month_reads[month] += reads
            return True

    def record(self, service: str, request: Request, subpath: str, response: Response) -> None:
        """Count a request the emulator answered: its kinds and the bytes of its answer."""
        found = classify(service, request, subpath)
        if found is None:
            return
        company_id, kinds = found
        size = response.calculate_content_length()
        if size is None:
            size = len(response.get_data())
        with self._lock:
            company = self._companies.setdefault((service, company_id), _Company())
            company.requests += 1
            company.response_bytes += size
            for kind in kinds:
                company.kinds[kind] += 1

    def as_json(self) -> dict[str, Any]:
        """``{"since", "quotas", "services": {service: {company: counts}}}``."""
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            for (service, company_id), c in sorted(self._companies.items()):
                if not c.requests:
                    continue  # only reads counted against the allowance, none answered yet
                kinds = dict(sorted(c.kinds.items()))
                if service == "qbo":
                    counts: dict[str, Any] = {"reads": sum(kinds.get(k, 0) for k in QBO_READ_KINDS),
                                              "writes": kinds.get("write", 0), "kinds": kinds}
                else:
                    counts = {"calls": c.requests, "reads": kinds.get("read", 0), "writes": kinds.get("write", 0)}
                counts.update(requests=c.requests, response_bytes=c.response_bytes)
                out.setdefault(service, {})[company_id] = counts
            quotas = {s: {"monthly_read_quota": q, "month": self._month(s)} for s, q in self._quotas.items()}
            return {"since": self.since.isoformat(), "quotas": quotas, "services": out}
