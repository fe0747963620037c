"""What the sandbox metered (``/_sandbox/usage``), per organization: shared by the sync benchmarks.

QuickBooks: CorePlus reads (metered) and Core writes; Xero: calls, reads/writes and response bytes
per tenant (see ``desktop/sandbox/usage.py``). Not a benchmark itself.
"""

from __future__ import annotations

from typing import Any

import requests


def reset_usage(url: str) -> None:
    requests.delete(f"{url}/_sandbox/usage", timeout=30).raise_for_status()


def fetch_usage(url: str) -> dict[str, Any]:
    resp = requests.get(f"{url}/_sandbox/usage", timeout=30)
    resp.raise_for_status()
    services: dict[str, Any] = resp.json()["services"]
    return services


def org_companies(info: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Organization code → (service, company id) from the sandbox's start-up info."""
    out = {c["rms_org"]: ("qbo", str(c["realm_id"])) for c in info["qbo"]["companies"]}
    out.update({t["rms_org"]: ("xero", str(t["tenant_id"])) for t in info["xero"]["tenants"]})
    return out


def org_usage(usage: dict[str, Any], service: str, company: str) -> dict[str, Any]:
    counts: dict[str, Any] = usage.get(service, {}).get(company, {})
    return counts


def print_usage(usage: dict[str, Any], companies: dict[str, tuple[str, str]], posted: dict[str, int],
                indent: str = "  ") -> dict[str, int]:
    """One line per organization; returns the totals (``reads``, ``writes``, ``posted``, ``bytes``)."""
    totals = {"reads": 0, "writes": 0, "posted": 0, "bytes": 0}
    for org in sorted(posted):
        service, company = companies[org]
        counts = org_usage(usage, service, company)
        reads, writes = int(counts.get("reads", 0)), int(counts.get("writes", 0))
        size = int(counts.get("response_bytes", 0))
        per_k = f"{1000 * reads / posted[org]:.0f}" if posted[org] else "n/a"
        what = ("metered reads (CorePlus)" if service == "qbo" else f"calls {counts.get('calls', 0)}, reads")
        kinds = counts.get("kinds")
        print(f"{indent}{org:10} {service:4}: {what} {reads}, writes {writes}, {size / 1e6:.2f} MB out; "
              f"{per_k} reads per 1,000 posted documents ({posted[org]} posted)"
              + (f"  {kinds}" if kinds else ""))
        totals["reads"] += reads
        totals["writes"] += writes
        totals["posted"] += posted[org]
        totals["bytes"] += size
    return totals
