"""Sync end to end against the sandbox at production rate limits: requests per document, limit share.

Starts ``returns-ledger sandbox serve`` in a subprocess with its production rate limits (QBO 500
calls a minute per realm, Xero 60 a minute per tenant), has its RMS generate ``--returns`` new
returns spread over the four demo organizations (no bad records), sets up a data directory with
``returns-ledger demo init --sandbox URL`` (needs the OS keyring: run it in a desktop session or
inside ``scripts/test.sh``'s D-Bus session), then runs the app's own pipeline in this process,
organization by organization and phase by phase: RMS ingest → plan (recipes, pre-flight, outbox) →
post (:class:`~desktop.services.pipeline.poster.Poster`, per-return mode).

Prints per platform:

* HTTP requests per posted document (every ledger call of plan and post: exchange rates, look-ups,
  customers and items created on demand, the batches), with a breakdown by kind — targets ≤ 1/25
  for QBO (batches of 30) and ≤ 1/45 for Xero (requests of 50);
* the achieved share of the platform's limit during the posting phase: requests sent per minute
  of posting, per realm/tenant, over the limit — target ≥ 85 %. For QBO every batch item counts
  as a call (API_FACTS §3), so its figure counts items plus batch requests. Only meaningful when a
  company's posting lasts a minute or more; a shorter phase is printed as "n/a";
* the end-to-end time (ingest + plan + post) for all returns;
* what the sandbox metered per organization (``/_sandbox/usage``, counted from after ``demo init``):
  QuickBooks CorePlus reads and Core writes, Xero calls, reads, writes and response bytes, and
  metered reads per 1,000 posted documents.

The RMS write-back (one call per return, 8 at a time) is left out unless ``--writeback``: it says
nothing about the ledgers.
Run: ``.venv/bin/python bench/bench_sync_e2e.py [--returns 10000] [--writeback]``. Exit code is
always 0; each figure is followed by OK or BELOW.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.usage_report import fetch_usage, org_companies, print_usage, reset_usage

ORGS = {"ACME-US": "qbo", "MAPLE-CA": "qbo", "KIWI-NZ": "xero", "TEA-UK": "xero"}
LIMIT_PER_MINUTE = {"qbo": 500, "xero": 60}
REQUESTS_PER_DOC_TARGET = {"qbo": 1 / 25, "xero": 1 / 45}
SHARE_TARGET = 0.85


@dataclass
class OrgRun:
    org: str
    platform: str
    returns: int = 0
    ingest_s: float = 0.0
    plan_s: float = 0.0
    post_s: float = 0.0
    writeback_s: float = 0.0
    posted: int = 0
    requests: int = 0
    failed: int = 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, check=False)


def _setup(url: str, returns: int, data: Path) -> None:
    requests.post(f"{url}/_sandbox/reset", json={"seed": 1, "rms": {"scale": 0.01, "bad_ratio": 0}},
                  timeout=60).raise_for_status()
    each, rest = divmod(returns, len(ORGS))
    for n, org in enumerate(ORGS):
        count = each + (1 if n < rest else 0)
        while count > 0:
            chunk = min(count, 10_000)
            requests.post(f"{url}/_sandbox/rms/generate", json={"org": org, "count": chunk, "bad_ratio": 0,
                                                                "seed": n + 1}, timeout=300).raise_for_status()
            count -= chunk
    done = _cli("demo", "init", "--sandbox", url, "--json", "--data-dir", str(data))
    if done.returncode != 0:
        raise SystemExit(f"demo init failed (is a keyring available?): {done.stderr[-2000:]}")
    reset_usage(url)  # meter the sync, not the set-up's reference reads


#: Ledger requests by (platform, what), counted for the whole run (plan and post): the breakdown
#: says where requests beyond the batches themselves go.
KINDS: Counter[tuple[str, str]] = Counter()


def _count_ledger_requests() -> None:
    """Wrap :meth:`LedgerHttp.request` so every ledger call (not the RMS's) is counted by kind."""
    import re

    from desktop.services.platforms.http import LedgerHttp
    original = LedgerHttp.request

    def counted(self: LedgerHttp, method: str, url: str, **kwargs: Any) -> Any:
        path = url.split("?", 1)[0]
        if "/v3/company/" in path:
            what = re.sub(r"^.*/v3/company/[^/]+/", "", path)
            if what == "query":
                query = str((kwargs.get("params") or {}).get("query", ""))
                what = "query " + " ".join(query.split()[3:4])
            elif what == "batch":
                first = json.loads(kwargs.get("data") or b"{}").get("BatchItemRequest", [{}])[0]
                what = "batch " + (f"query {str(first['Query']).split()[3]}" if "Query" in first else
                                   f"{first.get('operation')} {next((k for k in first if k[0].isupper()), '?')}")
            KINDS[("qbo", f"{method} {what}")] += 1
        elif "/api.xro/" in path:
            KINDS[("xero", f"{method} {path.rsplit('/api.xro/2.0/', 1)[-1].split('/')[0]}")] += 1
        return original(self, method, url, **kwargs)

    LedgerHttp.request = counted  # type: ignore[method-assign]


def _run(data: Path, writeback: bool) -> list[OrgRun]:
    from desktop.services.core.config import resolve_config
    from desktop.services.mapping.service import MappingService
    from desktop.services.pipeline.engine import SyncEngine
    from desktop.services.rms.ingest import IngestService
    from desktop.services.runtime import open_runtime, rms_client_factory
    runs: list[OrgRun] = []
    with open_runtime(resolve_config(data, None)) as rt:
        rms_for = rms_client_factory(rt.database, rt.vault, rt.connections.stopping)
        mapping = MappingService(rt.database, rt.clock, rt.bus)
        ingest = IngestService(rt.database, rt.bus, rt.clock)
        engine = SyncEngine(rt.database, rt.bus, rt.clock, rt.connections, mapping, rms_for)
        for org, platform in ORGS.items():
            run = OrgRun(org, platform)
            client = rms_for(org)
            assert client is not None, "demo init configured no RMS"
            started = time.monotonic()
            run.returns = ingest.pull(org, client).ingested
            run.ingest_s = time.monotonic() - started
            started = time.monotonic()
            engine.plan(org)
            run.plan_s = time.monotonic() - started
            started = time.monotonic()
            result = engine.push(org, "bench")
            run.post_s = time.monotonic() - started
            run.posted, run.failed = result.posted, result.failed + result.quarantined
            run.requests = sum(n for (p, _w), n in KINDS.items() if p == platform) - sum(
                r.requests for r in runs if r.platform == platform)
            if writeback:
                started = time.monotonic()
                engine.writeback(org)
                run.writeback_s = time.monotonic() - started
            runs.append(run)
            _why_not_posted(rt.database, org)
            print(f"  {org:9} {platform:4}: {run.returns} returns, ingest {run.ingest_s:.1f} s, "
                  f"plan {run.plan_s:.1f} s,"
                  f" post {run.post_s:.1f} s ({run.posted} documents, {run.requests} requests, {run.failed} not"
                  f" posted){f', write-back {run.writeback_s:.1f} s' if writeback else ''}", flush=True)
    return runs


def _why_not_posted(database: Any, org: str) -> None:
    """The most common reasons documents of ``org`` are not posted (a benchmark that only counts would hide them)."""
    import sqlalchemy as sa

    from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus
    with database.session() as s:
        rows = s.execute(sa.select(OutboxDocument.status, OutboxDocument.last_error).join(
            Organization, Organization.id == OutboxDocument.organization_id).where(
            Organization.code == org, OutboxDocument.status != OutboxStatus.POSTED)).all()
    reasons = Counter(f"{status.value}: {(err or {}).get('message', '')} {(err or {}).get('platform_message', '')}"
                      for status, err in rows)
    for reason, n in reasons.most_common(3):
        print(f"    not posted ×{n}: {reason[:200]}")


def _verdict(ok: bool) -> str:
    return "OK" if ok else "BELOW"


def _report(runs: list[OrgRun], total_s: float, writeback: bool) -> None:
    for platform in sorted({r.platform for r in runs}):
        mine = [r for r in runs if r.platform == platform]
        posted, sent = sum(r.posted for r in mine), sum(r.requests for r in mine)
        per_doc = sent / posted if posted else float("inf")
        target = REQUESTS_PER_DOC_TARGET[platform]
        print(f"{platform.upper():4} requests per posted document: {sent}/{posted} = 1/{posted / max(sent, 1):.1f}"
              f" (target ≤ 1/{1 / target:.0f}) {_verdict(per_doc <= target)}")
        for r in mine:
            calls = r.requests + (r.posted if platform == "qbo" else 0)  # QBO: each batch item is a call
            rate = calls / (r.post_s / 60) if r.post_s else 0.0
            share = rate / LIMIT_PER_MINUTE[platform]
            verdict = ("n/a (posting took under a minute: a burst, not a sustained rate)" if r.post_s < 60
                       else _verdict(share >= SHARE_TARGET))
            print(f"{platform.upper():4} {r.org}: {rate:.0f} requests/min while posting = {share:.0%} of the "
                  f"{LIMIT_PER_MINUTE[platform]}/min limit (target ≥ {SHARE_TARGET:.0%}) {verdict}")
    for (platform, what), n in sorted(KINDS.items()):
        print(f"  {platform.upper():4} {what:40} {n:7}")
    returns = sum(r.returns for r in runs)
    print(f"End to end (ingest + plan + post{' + write-back' if writeback else ''}): {returns} returns in "
          f"{total_s:.0f} s ({total_s / 60:.1f} min)")
    if not writeback:
        print("  (RMS write-back not run: --writeback times it)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--returns", type=int, default=10_000, help="new RMS returns over the four orgs")
    parser.add_argument("--writeback", action="store_true", help="also time the RMS write-back")
    parser.add_argument("--platform", choices=("qbo", "xero"), help="only this platform's two companies")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rls-bench-") as tmp, subprocess.Popen(
            [sys.executable, "-m", "desktop", "sandbox", "serve"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True) as sandbox:
        try:
            assert sandbox.stdout is not None
            url = str(json.loads(sandbox.stdout.readline())["control_url"]).rsplit("/_sandbox", 1)[0]
            print(f"Generating {args.returns} returns and connecting the demo organizations…", flush=True)
            if args.platform:
                for org in [o for o, p in ORGS.items() if p != args.platform]:
                    del ORGS[org]
            _setup(url, args.returns, Path(tmp))
            _count_ledger_requests()
            started = time.monotonic()
            runs = _run(Path(tmp), args.writeback)
            _report(runs, time.monotonic() - started, args.writeback)
            info = requests.get(f"{url}/_sandbox/info", timeout=30).json()
            print("Metered by the sandbox (/_sandbox/usage):")
            print_usage(fetch_usage(url), org_companies(info), {r.org: r.posted for r in runs})
        finally:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
