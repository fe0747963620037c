"""A file record's ``Incoming.where`` is the label its ``annotate`` gives (what the copy rule names it by).

The copy rule used to ask each record's ``annotate`` for its place (a probe problem rewritten, per
record); files now state it once as ``where``. Both must say the same, for CSV rows and JSON records.
"""

from __future__ import annotations

from dataclasses import replace

from desktop.services.rms.context import OrgContext
from desktop.services.rms.copies import CopyCheck
from desktop.services.rms.file_import import read_csv, read_json

CTX = OrgContext.from_profile({
    "code": "W-US", "name": "W", "country": "US", "home_currency": "USD", "currencies": ["USD"],
    "timezone": "UTC", "tax_jurisdictions": [{"code": "US-CA", "name": "California", "rate": "0.0725"}]})
CSV = """id,rma_number,revision,organization,currency,line_id,sku,quantity,unit_price,tax_US-CA
r1,RMA-1,1,W-US,USD,ln_1,A,1,1.00,0.07
r1,RMA-1,1,W-US,USD,ln_2,B,1,2.00,0.15
,RMA-2,1,W-US,USD,ln_1,C,1,3.00,0.22

r3,RMA-3,2,W-US,USD,ln_1,D,1,4.00,0.29
"""


def _probed(records: list) -> list[str]:
    check = CopyCheck("file")
    return [check.where(replace(inc, where=None), n) for n, inc in enumerate(records)]


def test_csv_and_json_records_state_the_label_their_annotate_gives() -> None:
    rows = read_csv(CSV, CTX, "orders.csv")
    assert [inc.where for inc in rows] == _probed(rows) == ["orders.csv row 2", "orders.csv row 4", "orders.csv row 6"]
    docs = read_json('[{"id": "a"}, 7, {"returns": []}]', "export.json")
    assert [inc.where for inc in docs] == _probed(docs) == [f"export.json record {n}" for n in (1, 2, 3)]
