"""A ledger's metered allowance used up, as the allowance tests (service and GUI) set it up.

The sandbox plays the platform: QuickBooks with a monthly read quota (``POST /_sandbox/usage``),
Xero with a small daily call limit (``POST /_sandbox/config`` ``rate_limits.per_day``). The reset
is the sandbox's clock and the app's :class:`~desktop.services.core.clock.ManualClock` moved on
together (:func:`move_clocks`), never a wait.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from desktop.services.core.clock import ManualClock, SystemClock
from desktop.services.pipeline.documents import CUSTOMER, LedgerDocument, placeholder
from desktop.services.store.models import RefCustomer, RefItem, Return
from tests.helpers.posting import qbo_credit_memo
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import QBO_ORG, World

__all__ = ["allowance_world", "keys_in_ledger", "move_clocks", "next_month", "qbo_documents", "use_up_qbo_reads"]


def allowance_world(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> World:
    """A world on a manual clock (starting now, like the sandbox's) whose ledger waits never take time."""
    world = World(db_url, tmp_path, sandbox=sandbox, clock=ManualClock(SystemClock().now()), event_log=True)
    world.wait_on_a_manual_clock()
    return world


def move_clocks(world: World, service: str, delta: timedelta) -> None:
    """The sandbox's ``service`` and the app both ``delta`` later (the sandbox's offset adds up)."""
    assert world.sandbox is not None
    offset = world.sandbox.control("POST", "config", {"service": service})["clock_offset_s"]
    world.sandbox.control("POST", "config", {"service": service,
                                              "clock_offset_s": int(offset + delta.total_seconds())})
    world.clock.advance(delta)


def next_month(at: datetime) -> datetime:
    """The first instant of the month after ``at`` (UTC)."""
    first = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def qbo_documents(world: World, connection_id: int, cached: int, needing: int
                  ) -> tuple[list[LedgerDocument], list[tuple[LedgerDocument, int]]]:
    """Credit memos whose customer and item are in the reference cache, and credit memos for new
    customers (``${customer}``: the poster must look them up in QuickBooks), each with its return."""
    with world.db.session() as s:
        customer = s.scalars(sa.select(RefCustomer.remote_id).where(RefCustomer.connection_id == connection_id,
                                                                    RefCustomer.active)).first()
        item = s.scalars(sa.select(RefItem.remote_id).where(RefItem.connection_id == connection_id,
                                                            RefItem.income_account_remote_id.is_not(None))).first()
    assert customer is not None and item is not None, "connect with refresh_reference=True first"
    known = [qbo_credit_memo(n, (customer, item)) for n in range(cached)]
    new: list[tuple[LedgerDocument, int]] = []
    for n in range(100, 100 + needing):
        rid = world.add_return(QBO_ORG, rms_id=f"R-allowance-{n}", rma=f"RMA-allowance-{n}", currency="USD")
        with world.db.write_session() as s:
            row = s.get(Return, rid)
            assert row is not None
            row.customer_name = f"Allowance Newcomer {n}"
        new.append((qbo_credit_memo(n, (placeholder(CUSTOMER), item)), rid))
    return known, new


def use_up_qbo_reads(sandbox: SandboxHandle, realm: str) -> int:
    """Set the sandbox's monthly read quota to what the company has read so far: the next read is refused."""
    reads = int(sandbox.control("GET", "usage")["services"]["qbo"][realm]["reads"])
    sandbox.control("POST", "usage", {"service": "qbo", "monthly_read_quota": reads})
    return reads


def keys_in_ledger(world: World, platform: str, company: str, keys: list[str]) -> dict[str, int]:
    """How many documents of the emulated ledger carry each of ``keys`` (1 each: posted once)."""
    docs = world.ledger(platform, company)
    return {k: sum(1 for d in docs if k in str(d.get("reference") or d.get("raw"))) for k in keys}
