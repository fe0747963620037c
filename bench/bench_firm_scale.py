"""A bookkeeping firm's client companies synced one after another, then in parallel: figures, not a timed test.

Starts ``returns-ledger sandbox serve`` (production rate limits: QuickBooks 500 calls a minute and
10 at once per realm, Xero 60 a minute and 5 at once per tenant) serving ``--orgs`` organizations:
the four demo ones plus a firm's client companies (``POST /_sandbox/reset {"firm": …}``: copies of
ACME-US in QuickBooks, of KIWI-NZ in Xero), half on each ledger. Each gets ``--returns`` new returns.
Then, in the same run, twice from a fresh sandbox and a fresh data directory (``demo init``):

1. **sequential** — ``--parallel 1``: one organization after another (``--sequential demo``: only the
   demo four — ACME-US and MAPLE-CA on QuickBooks, KIWI-NZ and TEA-UK on Xero, the shapes every firm
   company copies — alone in their own sandbox, for a run that fits in an afternoon: 50 organizations
   one after another at production limits take about 25 times as long as one QuickBooks company);
2. **parallel** — ``--parallel P`` (default ``0``: the app's own default, every organization with work
   at once up to its cap of 64; ``--parallel 4`` is the old default pool).

Each sync runs in a child process (the app's own scheduler, ``sync_all`` as ``sync --once`` runs
it), so its peak memory (max RSS) and CPU time are its own. Prints per mode: wall time, the child's CPU
seconds (user + system; the app is one process, so the GIL lets it use about one core), the machine's
load average before and after (other work on the machine slows everything), peak RSS, what the sandbox
metered (QuickBooks CorePlus reads and Core writes, Xero calls, reads per 1,000 posted documents),
each organization's active window and its share of its own per-minute limit (ledger calls over
that window — only a sustained rate when the window lasts a minute or more: shorter is a burst and
says "burst"), then the ratio parallel / sequential and the slowest single organization.

Needs the OS keyring (``demo init``). Run: ``.venv/bin/python bench/bench_firm_scale.py
[--orgs 50] [--returns 20] [--parallel 0] [--sequential all|demo]``; ``--orgs 8`` for a quick run.
Exit code is always 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench.usage_report import fetch_usage, org_companies, print_usage, reset_usage

LIMIT_PER_MINUTE = {"qbo": 500, "xero": 60}
DEMO_ORGS = 4  # the demo four: ``--sequential demo`` runs only them


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True, text=True, check=False)


def _prepare(url: str, orgs: int, returns: int, data: Path) -> dict[str, Any]:
    """A fresh sandbox with ``orgs`` organizations and ``returns`` new returns each; ``demo init`` into ``data``."""
    firm = max(0, orgs - 4)
    requests.post(f"{url}/_sandbox/reset", json={"seed": 1, "rms": {"scale": 0.01, "bad_ratio": 0},
                                                 "firm": {"qbo": (firm + 1) // 2, "xero": firm // 2}},
                  timeout=120).raise_for_status()
    info: dict[str, Any] = requests.get(f"{url}/_sandbox/info", timeout=30).json()
    for n, org in enumerate(sorted(org_companies(info))):
        requests.post(f"{url}/_sandbox/rms/generate", json={"org": org, "count": returns, "bad_ratio": 0,
                                                            "seed": n + 1}, timeout=300).raise_for_status()
    done = _cli("demo", "init", "--sandbox", url, "--json", "--data-dir", str(data))
    if done.returncode != 0:
        raise SystemExit(f"demo init failed (is a keyring available?): {done.stderr[-2000:]}")
    reset_usage(url)  # meter the sync, not the set-up's sign-ins and reference reads
    return info


def _child(data: Path, parallel: int | None, profile: Path | None = None) -> int:
    """In the child: one cycle of every connected organization; prints one JSON line of figures.

    ``profile``: run the cycle under cProfile (stats written there) and count SQL statements.
    """
    import sqlalchemy as sa

    from desktop.commands.sync import connected_orgs, scheduler_for
    from desktop.services.core.config import resolve_config
    from desktop.services.core.events import Event, EventKind
    from desktop.services.runtime import open_runtime
    from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus
    windows: dict[str, list[float]] = {}

    def on_event(event: Event) -> None:
        if event.kind == EventKind.SYNC_STARTED and event.org and (event.details or {}).get("job") == "ingest":
            windows.setdefault(event.org, [time.monotonic(), 0.0])

    statements = [0]
    compiled: dict[str, int] = {}  # statements SQLAlchemy compiled afresh (not from its cache), by text
    from sqlalchemy.engine.default import CACHE_HIT as hit
    if profile is not None:
        def count(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
            statements[0] += 1
            if context is not None and getattr(context, "cache_hit", hit) is not hit:
                key = f"{getattr(context.cache_hit, 'name', context.cache_hit)}: {' '.join(statement.split())[:160]}"
                compiled[key] = compiled.get(key, 0) + 1
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    with open_runtime(resolve_config(data, None)) as rt, scheduler_for(rt, parallel=parallel) as sched:
        rt.bus.subscribe(on_event)
        orgs = connected_orgs(rt)
        profiler = _Profiles() if profile is not None else None
        started = time.monotonic()
        cpu_started = time.process_time()
        running = sched.sync_all(orgs)
        for org, future in running.items():
            future.add_done_callback(lambda _f, org=org: windows.setdefault(org, [started, 0.0]).__setitem__(
                1, time.monotonic()))
        errors = [f"{org} {step}" for org, future in running.items() for step, counts in future.result().items()
                  if isinstance(counts, dict) and "error" in counts]
        wall = time.monotonic() - started
        cycle_cpu = time.process_time() - cpu_started
        if profiler is not None and profile is not None:
            profiler.stop(profile)
            profile.with_suffix(".compiled.txt").write_text("".join(
                f"{n:6} {text}\n" for text, n in sorted(compiled.items(), key=lambda kv: -kv[1])))
        cycle_statements = statements[0]
        with rt.database.session() as s:
            rows = s.execute(sa.select(Organization.code, sa.func.count(OutboxDocument.id))
                             .join(Organization, Organization.id == OutboxDocument.organization_id)
                             .where(OutboxDocument.status == OutboxStatus.POSTED).group_by(Organization.code))
            posted = {str(code): int(n) for code, n in rows}
    print(json.dumps({"wall_s": wall, "cycle_cpu_s": cycle_cpu, "statements": cycle_statements if profile else None,
                      "errors": errors, "posted": {o: int(posted.get(o, 0)) for o in orgs},
                      "windows": {o: [w[0] - started, w[1] - started] for o, w in windows.items()}}))
    return 0


class _Profiles:
    """cProfile (CPU time of each thread, not wall time: HTTP waits do not count) in this thread and in
    every thread started from now on (the sync runs in worker threads)."""

    def __init__(self) -> None:
        import cProfile
        import threading
        self._profiles: list[Any] = []

        def start_in_thread(*_args: Any) -> None:
            sys.setprofile(None)
            self._start(cProfile.Profile(time.thread_time))

        threading.setprofile(start_in_thread)
        self._start(cProfile.Profile(time.thread_time))

    def _start(self, profile: Any) -> None:
        self._profiles.append(profile)
        profile.enable()

    def stop(self, path: Path) -> None:
        import pstats
        import threading
        threading.setprofile(None)
        for profile in self._profiles:
            profile.disable()
        pstats.Stats(*self._profiles).dump_stats(str(path))


def _run_mode(url: str, args: argparse.Namespace, parallel: int, data: Path, orgs: int,
              profile: Path | None = None) -> dict[str, Any]:
    info = _prepare(url, orgs, args.returns, data)
    load_before = os.getloadavg()
    extra = ["--profile", str(profile)] if profile is not None else []
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(data), "--parallel", str(parallel), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not out.strip():
        raise SystemExit(f"the sync child failed ({proc.returncode}): {err[-2000:]}")
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    figures["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    figures["cpu_s"] = usage.ru_utime + usage.ru_stime
    figures["load"] = [load_before[0], os.getloadavg()[0]]
    figures["usage"] = fetch_usage(url)
    figures["companies"] = org_companies(info)
    return figures


def _print_mode(name: str, parallel: int, f: dict[str, Any]) -> None:
    print(f"\n{name} (--parallel {parallel or 'default'}): {len(f['posted'])} organizations in {f['wall_s']:.1f} s, "
          f"{f['cpu_s']:.0f} CPU s in the sync process ({f['cpu_s'] / max(f['wall_s'], 1e-6):.0%} of one core), "
          f"peak RSS {f['peak_rss_mb']:.0f} MB; load average {f['load'][0]:.1f} before, {f['load'][1]:.1f} after"
          f"{', ERRORS: ' + ', '.join(f['errors']) if f['errors'] else ''}")
    totals = print_usage(f["usage"], f["companies"], f["posted"])
    posted = max(sum(f["posted"].values()), 1)
    sql = f"; {f['statements'] / posted:.1f} SQL statements" if f.get("statements") is not None else ""
    print(f"  per posted document: {1000 * f['cycle_cpu_s'] / posted:.1f} ms CPU in the sync cycle{sql}")
    per_k = 1000 * totals["reads"] / totals["posted"] if totals["posted"] else 0.0
    print(f"  all: {totals['reads']} metered reads, {totals['writes']} writes, {totals['posted']} documents posted: "
          f"{per_k:.0f} reads per 1,000 posted documents; {totals['bytes'] / 1e6:.2f} MB out")
    print("  each organization's active window and its share of its own limit (ledger calls / window / limit):")
    for org in sorted(f["posted"]):
        service, company = f["companies"][org]
        start, end = f["windows"].get(org, [0.0, 0.0])
        span = max(end - start, 1e-6)
        counts = f["usage"].get(service, {}).get(company, {})
        calls = int(counts.get("writes", 0)) + int(counts.get("reads", 0))  # QBO: each batch item a call
        share = calls / (span / 60) / LIMIT_PER_MINUTE[service]
        note = "" if span >= 60 else " (burst: window under a minute)"
        print(f"    {org:10} {service:4} {start:6.1f}–{end:6.1f} s: {calls} calls = {share:.0%} of "
              f"{LIMIT_PER_MINUTE[service]}/min{note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orgs", type=int, default=50, help="organizations in all (≥ 4: the demo four + a firm's)")
    parser.add_argument("--returns", type=int, default=20, help="new returns per organization")
    parser.add_argument("--parallel", type=int, default=0,
                        help="organizations at once in the parallel run (0: the app's default)")
    parser.add_argument("--sequential", choices=("all", "demo"), default="all",
                        help="one after another: every organization, or only the demo four (a shorter run)")
    parser.add_argument("--profile", type=Path, metavar="PREFIX",
                        help="profile each sync child (cProfile stats to PREFIX-sequential.prof / -parallel.prof) "
                             "and count its SQL statements; slows the sync")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return _child(args.child, args.parallel or None, args.profile)
    if args.orgs < 4:
        parser.error("--orgs must be at least 4 (the demo organizations)")
    with tempfile.TemporaryDirectory(prefix="rls-firm-") as tmp, subprocess.Popen(
            [sys.executable, "-m", "desktop", "sandbox", "serve"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True) as sandbox:
        try:
            assert sandbox.stdout is not None
            url = str(json.loads(sandbox.stdout.readline())["control_url"]).rsplit("/_sandbox", 1)[0]
            alone = args.orgs if args.sequential == "all" else DEMO_ORGS
            print(f"{args.orgs} organizations, {args.returns} new returns each; sequential ({alone} of them), "
                  f"then parallel ({args.parallel or 'the app default'} at once)…", flush=True)
            prof = args.profile
            seq = _run_mode(url, args, 1, Path(tmp) / "sequential", alone,
                            Path(f"{prof}-sequential.prof") if prof else None)
            _print_mode("Sequential", 1, seq)
            par = _run_mode(url, args, args.parallel, Path(tmp) / "parallel", args.orgs,
                            Path(f"{prof}-parallel.prof") if prof else None)
            _print_mode("Parallel", args.parallel, par)
        finally:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=30)
    slowest = max(end - start for start, end in seq["windows"].values())
    if args.sequential == "all":
        print(f"\nParallel / sequential wall time: {par['wall_s']:.1f} / {seq['wall_s']:.1f} s = "
              f"{par['wall_s'] / seq['wall_s']:.2f}")
    else:
        print(f"\nParallel wall time {par['wall_s']:.1f} s for {args.orgs}; the demo four one after another: "
              f"{seq['wall_s']:.1f} s")
    print(f"Slowest single organization (its window in the sequential run): {slowest:.1f} s; parallel wall = "
          f"{par['wall_s'] / slowest:.1f} × that (issue target ≤ 1.3 ×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
