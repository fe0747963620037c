"""How each platform meters a request: the one classification rule, used by the profiles' ``metered``.

The sandbox's ``desktop/sandbox/usage.py`` meters the emulators the same way (the sandbox is the
outside world and imports nothing of ours; ``tests/integration/test_usage_meter.py`` holds the two
to the same figures). API_FACTS §1, §5, §9:

* **QuickBooks** (Intuit App Partner Program, 2025+): *CorePlus* calls — queries, reads, change data
  capture, reports — are metered reads; *Core* calls (create, update, delete, void) are free writes.
  Each item of a ``/batch`` counts as its own call: a ``Query`` item reads, any other writes.
  OAuth and discovery are not metered.
* **Xero**: every Accounting API call (``/api.xro/2.0/``) counts against the tenant's daily limit;
  GET reads, anything else writes. Identity and ``/connections`` calls are not counted.

UNCONFIRMED (fallbacks, as in the sandbox): whether a batch counts per item for metering; whether
a call refused with 429 is metered — here it is not (the quota's own refusal is not served).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

__all__ = ["qbo_metered", "xero_metered"]

_QBO_API = re.compile(r"/v3/company/[^/]+/(?P<rest>.+)$")
_XERO_API = "/api.xro/2.0/"
_READ_METHODS = ("GET", "HEAD")


def _batch(body: bytes | None) -> tuple[int, int]:
    try:
        parsed = json.loads(body or b"{}")
        items = parsed.get("BatchItemRequest") if isinstance(parsed, dict) else None
    except ValueError:
        items = None
    if not isinstance(items, list) or not items:
        return 0, 1
    reads = sum(1 for item in items if isinstance(item, dict) and "Query" in item)
    return reads, len(items) - reads


def qbo_metered(method: str, url: str, body: bytes | None) -> tuple[int, int] | None:
    """``(reads, writes)`` of one QuickBooks request; None for OAuth and discovery."""
    found = _QBO_API.search(urlsplit(url).path)
    if found is None:
        return None
    rest = found.group("rest").lower()
    if rest.startswith(("query", "cdc", "reports/")):
        return 1, 0
    if rest.startswith("batch"):
        return _batch(body)
    return (1, 0) if method.upper() in _READ_METHODS else (0, 1)


def xero_metered(method: str, url: str, body: bytes | None) -> tuple[int, int] | None:
    """``(reads, writes)`` of one Xero request; None outside the Accounting API."""
    if _XERO_API not in urlsplit(url).path.lower():
        return None
    return (1, 0) if method.upper() in _READ_METHODS else (0, 1)
