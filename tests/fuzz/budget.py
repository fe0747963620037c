"""How much the fuzz suite runs: hypothesis profiles, and the figures the long run prints.

Two profiles, chosen by ``RLS_FUZZ_PROFILE`` (a test knob, not configuration of the app):

- ``fuzz-ci`` (the default): deterministic (``derandomize=True``: the same examples every run, so a
  red build is reproducible and never depends on luck), no example database, no deadline (a busy
  machine must not fail a property on time). Each property states its CI example count with
  :func:`fuzz`; together they come to a few thousand examples and keep ``tests/fuzz`` to about two
  minutes on two busy cores.
- ``fuzz-long`` (``bench/fuzz_long.py``): the same properties, randomized (seed with
  ``--hypothesis-seed``), ``RLS_FUZZ_SCALE`` times as many examples (default 20).

With ``RLS_FUZZ_REPORT=<file>`` each property adds its figures (examples, records in, ingested,
quarantined, peak memory …) and the session writes them there as JSON for the bench to print.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, settings

__all__ = ["PROFILE", "SCALE", "figures", "fuzz", "record"]

_CHECKS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
           HealthCheck.large_base_example, HealthCheck.filter_too_much]
settings.register_profile("fuzz-ci", derandomize=True, deadline=None, database=None, print_blob=True,
                          suppress_health_check=_CHECKS)
settings.register_profile("fuzz-long", derandomize=False, deadline=None, database=None, print_blob=True,
                          suppress_health_check=_CHECKS)

PROFILE = os.environ.get("RLS_FUZZ_PROFILE", "fuzz-ci")
if PROFILE not in ("fuzz-ci", "fuzz-long"):
    raise ValueError(f"RLS_FUZZ_PROFILE must be fuzz-ci or fuzz-long, not {PROFILE!r}")
SCALE = int(os.environ.get("RLS_FUZZ_SCALE", "20")) if PROFILE == "fuzz-long" else 1


def fuzz(ci_examples: int) -> settings:
    """The settings of one property: ``ci_examples`` in CI, ``SCALE`` times that in the long run."""
    return settings(settings.get_profile(PROFILE), max_examples=ci_examples * SCALE)


_lock = threading.Lock()
_figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))


def record(prop: str, **counts: int) -> None:
    """Add ``counts`` to property ``prop``'s figures (summed; ``peak_*`` keys keep the maximum)."""
    with _lock:
        row = _figures[prop]
        for key, value in counts.items():
            row[key] = max(row[key], value) if key.startswith("peak") else row[key] + value


def figures() -> dict[str, Any]:
    with _lock:
        return {name: dict(row) for name, row in sorted(_figures.items())}
