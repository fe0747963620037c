"""How fast the QBO emulator answers a 1,000-row query over 100,000 credit memos (target < 200 ms).

Seeds one company straight through the emulator's store (HTTP would take minutes), then times
queries over real HTTP on loopback and prints the figures. Run:
``.venv/bin/python bench/bench_sandbox_query.py [--docs 100000] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import requests

from desktop.sandbox.qbo import QboEmulator, txn
from desktop.sandbox.server import SandboxServer

TARGET_MS = 200.0


def seed(emu: QboEmulator, realm: str, count: int) -> None:
    c = emu.companies[realm]
    now = emu.clock.now()
    customer = c.with_name("Customer", "Summit Sports Co.")
    item = c.with_name("Item", "Returned Merchandise")
    body = {"CustomerRef": {"value": customer}, "DocNumber": "BENCH", "PrivateNote": "Return BENCH",
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("10.00"),
                      "SalesItemLineDetail": {"ItemRef": {"value": item}, "TaxCodeRef": {"value": "NON"}}}]}
    template = txn.build(c, "CreditMemo", body, now.astimezone(c.tz).date(), None)
    start = now - timedelta(days=20)
    for i in range(count):
        obj = copy.deepcopy(template)
        amount = Decimal(10 + i % 500) + Decimal(i % 100) / 100
        obj["DocNumber"] = f"RMA-{i:07d}"
        obj["PrivateNote"] = f"Return RMA-{i:07d}"
        obj["Line"][0]["Amount"] = obj["Line"][1]["Amount"] = amount
        obj["TotalAmt"] = obj["RemainingCredit"] = obj["Balance"] = amount
        at = start + timedelta(seconds=i * 15)
        c.put("CreditMemo", obj, at, created=at)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with SandboxServer(seed=1) as server:
        emu = server.emulators["qbo"]
        assert isinstance(emu, QboEmulator)
        realm = "9130350000000001"
        t0 = time.perf_counter()
        seed(emu, realm, args.docs)
        print(f"seeded {args.docs} CreditMemos in {time.perf_counter() - t0:.1f} s")
        redirect = emu.authorize({"company": realm})
        code = parse_qs(urlparse(redirect).query)["code"][0]
        info = server.info["qbo"]
        http = requests.Session()
        tokens = http.post(f"{info['base_url']}/oauth2/v1/tokens/bearer", timeout=30,
                           auth=(info["client_id"], info["client_secret"]),
                           data={"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": info["redirect_uri"]}).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
        cut = emu.companies[realm].get("CreditMemo", str(args.docs // 2))
        assert cut is not None
        since = cut.obj["MetaData"]["LastUpdatedTime"]
        queries = {
            "page in the middle": f"select * from CreditMemo startposition {args.docs // 2} maxresults 1000",  # noqa: S608
            "filter + order": ("select * from CreditMemo where MetaData.LastUpdatedTime >= "  # noqa: S608
                               f"'{since}' orderby MetaData.LastUpdatedTime maxresults 1000"),
            "like + amount": ("select * from CreditMemo where PrivateNote like '%RMA-00%' and "
                              "TotalAmt > '100' maxresults 1000"),
        }
        worst = 0.0
        for label, statement in queries.items():
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                resp = http.get(f"{info['base_url']}/v3/company/{realm}/query", headers=headers,
                                params={"query": statement, "minorversion": "75"}, timeout=60)
                resp.content  # noqa: B018 - include the transfer in the timing
                times.append((time.perf_counter() - t) * 1000)
                rows = len(resp.json()["QueryResponse"].get("CreditMemo", []))
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"{label:20s} rows={rows:5d} median={median:7.1f} ms  min={min(times):7.1f} ms")
        print(f"worst median {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {'OK' if worst < TARGET_MS else 'SLOW'}")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
