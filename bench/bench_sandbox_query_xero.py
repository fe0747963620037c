"""How fast the Xero emulator answers a 1,000-row CreditNotes page over 100,000 credit notes (target < 200 ms).

Issue 3 asks both ledger emulators to hold 100,000 documents per company and answer a 1,000-row
query in under 200 ms, so the sync engine's paging can be tested at realistic volume without the
emulator being the bottleneck. This is the Xero half (``bench_sandbox_query.py`` is the QBO one).

Seeds one tenant (KIWI-NZ) straight through the emulator's store — one credit note is built by the
emulator's own ``save_credit_note`` so its shape is exactly what the API would store, then copied
with fresh ids, numbers, dates, amounts and statuses (HTTP, or ``save_credit_note`` per document with
its uniqueness scans, would take far longer than the thing being measured). It then gets a token
through the emulator's OAuth, lifts the rate limits (60 calls a minute would throttle the runs),
and times GETs over real HTTP on loopback. Run:
``.venv/bin/python bench/bench_sandbox_query_xero.py [--docs 100000] [--runs 5]``.
Exits 1 when the worst median is not under the target.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

from desktop.sandbox.server import SandboxServer
from desktop.sandbox.xero import XeroEmulator
from desktop.sandbox.xero.creditnotes import save_credit_note
from desktop.sandbox.xero.msjson import iso_date_string, iso_utc_string
from desktop.sandbox.xero.store import Tenant

TARGET_MS = 200.0
TENANT_ID = "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01"  # KIWI-NZ
PAGE_SIZE = 1000
SPACING = timedelta(seconds=15)  # between consecutive seeded UpdatedDateUTC values
SINCE_ROWS = 1200  # how many of the newest credit notes the If-Modified-Since query selects
# Every 5th credit note is a draft and every 7th (not 5th) voided, so a Status filter has work to do.
_DRAFT_EVERY, _VOID_EVERY = 5, 7


def _status(i: int) -> str:
    if i % _DRAFT_EVERY == 0:
        return "DRAFT"
    if i % _VOID_EVERY == 0:
        return "VOIDED"
    return "AUTHORISED"


def seed(emu: XeroEmulator, count: int) -> Tenant:
    """Put ``count`` ACCRECCREDIT credit notes into KIWI-NZ, UpdatedDateUTC ascending by 15 s."""
    with emu.store.lock:
        t = emu.store.tenants[TENANT_ID]
        now = emu.clock.now()
        contacts = [c for c in t.contacts.values() if c.get("ContactStatus") == "ACTIVE"]
        raw: dict[str, Any] = {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": contacts[0]["ContactID"]},
            "Status": "AUTHORISED",
            "CreditNoteNumber": "BENCH-TEMPLATE",
            "Reference": "RMA-BENCH",
            "LineAmountTypes": "Exclusive",
            "LineItems": [
                {
                    "Description": "Returned merchandise",
                    "Quantity": 1,
                    "UnitAmount": Decimal("10.00"),
                    "AccountCode": "205",
                    "TaxType": "OUTPUT2",
                },
            ],
        }
        out = save_credit_note(t, raw, now, 2, allow_number_match=False)
        if out.doc is None:
            raise RuntimeError(f"template credit note refused: {out.problems.messages}")
        template = t.credit_notes.pop(out.doc["CreditNoteID"])
        start = now - SPACING * (count + 10)
        today = t.local_today(now)
        for i in range(count):
            doc = copy.deepcopy(template)
            net = Decimal(10 + i % 500) + Decimal(i % 100) / 100
            tax = (net * Decimal("0.15")).quantize(Decimal("0.01"))
            line = doc["LineItems"][0]
            line.update(LineItemID=str(uuid.uuid4()), UnitAmount=net, LineAmount=net, TaxAmount=tax)
            day = today - timedelta(days=i % 365)
            updated = start + SPACING * i
            contact = contacts[i % len(contacts)]
            doc.update(
                CreditNoteID=str(uuid.uuid4()),
                CreditNoteNumber=f"CN-{i + 1:06d}",
                Reference=f"RMA-{i:07d}",
                Contact={"ContactID": contact["ContactID"], "Name": contact["Name"]},
                Date=day,
                DateString=iso_date_string(day),
                Status=_status(i),
                SubTotal=net,
                TotalTax=tax,
                Total=net + tax,
                RemainingCredit=net + tax,
                UpdatedDateUTC=updated,
                UpdatedDateUTCString=iso_utc_string(updated),
            )
            t.credit_notes[doc["CreditNoteID"]] = doc
        t.cn_sequence = count
        return t


def _token(server: SandboxServer, emu: XeroEmulator, http: requests.Session) -> str:
    """An access token for KIWI-NZ through the emulator's consent + token endpoint (no shortcuts)."""
    redirect = emu.authorize({"company": TENANT_ID})
    code = parse_qs(urlparse(redirect).query)["code"][0]
    info = server.info["xero"]
    resp = http.post(
        f"{info['base_url']}/identity/connect/token",
        auth=(info["client_id"], info["client_secret"]),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": info["redirect_uri"]},
        timeout=30,
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def _check(label: str, body: dict[str, Any], expected: int) -> int:
    """A fast wrong answer is no answer: the page must be full and match what the query asks."""
    notes = body["CreditNotes"]
    if body["pagination"]["itemCount"] != expected or len(notes) != min(PAGE_SIZE, expected):
        raise RuntimeError(f"{label}: {len(notes)} rows of {body['pagination']['itemCount']}, expected {expected}")
    if label == "where + order":
        days = [int(n["Date"][6:-7]) for n in notes]  # /Date(1767225600000+0000)/ -> ms
        if any(n["Status"] != "AUTHORISED" for n in notes) or days != sorted(days, reverse=True):
            raise RuntimeError(f"{label}: rows are not AUTHORISED in descending Date order")
    return len(notes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with SandboxServer(seed=1) as server:
        emu = server.emulators["xero"]
        assert isinstance(emu, XeroEmulator)
        t0 = time.perf_counter()
        tenant = seed(emu, args.docs)
        print(f"seeded {len(tenant.credit_notes)} CreditNotes in {time.perf_counter() - t0:.1f} s")
        runs = args.runs + 1  # one warm-up per query, not counted
        emu.configure({"per_minute": 1_000_000, "per_day": 1_000_000, "app_per_minute": 1_000_000, "concurrent": 100})
        http = requests.Session()
        headers = {
            "Authorization": f"Bearer {_token(server, emu, http)}",
            "xero-tenant-id": TENANT_ID,
            "Accept": "application/json",
        }
        url = f"{server.info['xero']['base_url']}/api.xro/2.0/CreditNotes"
        total_pages = (len(tenant.credit_notes) + PAGE_SIZE - 1) // PAGE_SIZE
        authorised = sum(1 for d in tenant.credit_notes.values() if d["Status"] == "AUTHORISED")
        newest = sorted(d["UpdatedDateUTC"] for d in tenant.credit_notes.values())
        since = newest[-min(SINCE_ROWS, len(newest))]
        # label -> (query parameters, extra headers, how many credit notes must match)
        queries: dict[str, tuple[dict[str, str], dict[str, str], int]] = {
            "page in the middle": (
                {"page": str(max(1, total_pages // 2)), "pageSize": str(PAGE_SIZE)},
                {},
                len(tenant.credit_notes),
            ),
            "where + order": (
                {
                    "where": 'Status=="AUTHORISED"',
                    "order": "Date DESC",
                    "page": str(max(1, (authorised // PAGE_SIZE) // 2)),
                    "pageSize": str(PAGE_SIZE),
                },
                {},
                authorised,
            ),
            "If-Modified-Since": (
                {"page": "1", "pageSize": str(PAGE_SIZE)},
                {"If-Modified-Since": since.strftime("%Y-%m-%dT%H:%M:%S")},
                min(SINCE_ROWS, len(newest)),
            ),
        }
        worst = 0.0
        for label, (params, extra, expected) in queries.items():
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                resp = http.get(url, headers={**headers, **extra}, params=params, timeout=60)
                resp.content  # noqa: B018 - include the transfer in the timing
                times.append((time.perf_counter() - t) * 1000)
                if resp.status_code != 200:
                    raise RuntimeError(f"{label}: HTTP {resp.status_code} {resp.text[:300]}")
            rows = _check(label, json.loads(resp.content, parse_float=Decimal), expected)
            median = statistics.median(times[1:])
            worst = max(worst, median)
            print(f"{label:20s} rows={rows:5d} of {expected:6d}  median={median:7.1f} ms  min={min(times[1:]):7.1f} ms")
        verdict = "OK" if worst < TARGET_MS else "SLOW"
        print(f"worst median {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
