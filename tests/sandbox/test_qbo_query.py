"""The QBO query language over real HTTP: operators, nested fields, paging, count, parser errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from tests.helpers.qbo_client import Qbo


def _seed_memos(qbo: Qbo, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(1, n + 1):
        body = qbo.credit_memo(f"Q-{i:03d}", f"{i}.00", PrivateNote=f"RMA {'even' if i % 2 == 0 else 'odd'} {i}")
        out.append(qbo.ok(qbo.post("creditmemo", body))["CreditMemo"])
    return out


def _rows(qbo: Qbo, statement: str, entity: str = "CreditMemo") -> list[dict[str, Any]]:
    return list(qbo.ok(qbo.query(statement))["QueryResponse"].get(entity, []))


def test_operators_and_nested_fields(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    memos = _seed_memos(qbo, 12)
    assert [r["DocNumber"] for r in _rows(qbo, "SELECT * FROM CreditMemo WHERE DocNumber = 'Q-003'")] == ["Q-003"]
    assert len(_rows(qbo, "select * from CreditMemo where TotalAmt > '10.00'")) == 2
    assert len(_rows(qbo, "select * from CreditMemo where TotalAmt <= '3'")) == 3
    assert len(_rows(qbo, "select * from CreditMemo where TotalAmt >= '11' and TotalAmt < '12'")) == 1
    ins = _rows(qbo, "select * from CreditMemo where DocNumber in ('Q-001', 'Q-005', 'nope')")
    assert [r["DocNumber"] for r in ins] == ["Q-001", "Q-005"]
    assert len(_rows(qbo, "select * from CreditMemo where PrivateNote like '%even%'")) == 6
    customer = memos[0]["CustomerRef"]["value"]
    assert len(_rows(qbo, f"select * from CreditMemo where CustomerRef = '{customer}'")) == 12  # noqa: S608
    cut = memos[5]["MetaData"]["LastUpdatedTime"]
    later = _rows(qbo, f"select * from CreditMemo where MetaData.LastUpdatedTime >= '{cut}'")  # noqa: S608
    assert {r["DocNumber"] for r in later} >= {"Q-006", "Q-012"}
    ordered = _rows(qbo, "select * from CreditMemo orderby TotalAmt desc maxresults 3")
    assert [r["TotalAmt"] for r in ordered] == [Decimal("12.00"), Decimal("11.00"), Decimal("10.00")]
    assert _rows(qbo, "select * from CreditMemo where Id = '999'") == []


def test_paging_count_and_post_form(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    _seed_memos(qbo, 7)
    page = qbo.ok(qbo.query("select * from CreditMemo orderby DocNumber startposition 3 maxresults 2"))
    response = page["QueryResponse"]
    assert response["startPosition"] == 3 and response["maxResults"] == 2
    assert [r["DocNumber"] for r in response["CreditMemo"]] == ["Q-003", "Q-004"]
    count = qbo.ok(qbo.query("select count(*) from CreditMemo"))
    assert count["QueryResponse"] == {"totalCount": 7} and "time" in count
    posted = requests.post(f"{qbo.api}/query", data="select * from CreditMemo where DocNumber = 'Q-007'",
                           headers=qbo.headers() | {"Content-Type": "application/text"}, timeout=10)
    assert [r["DocNumber"] for r in posted.json()["QueryResponse"]["CreditMemo"]] == ["Q-007"]
    empty = qbo.ok(qbo.query("select * from CreditMemo startposition 100"))
    assert empty["QueryResponse"] == {}


def test_parser_errors_and_unknown_entities(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    for bad in ("select from CreditMemo", "select * CreditMemo", "select * from CreditMemo where",
                "select * from CreditMemo where TotalAmt > 1 or TotalAmt < 0",
                "select * from CreditMemo maxresults abc", "select * from CreditMemo where DocNumber = 'x"):
        error = qbo.fault(qbo.query(bad))
        assert error["code"] == "4000" and "QueryParserError" in error["Detail"], bad
    assert qbo.fault(qbo.query("select * from CreditMemos"))["code"] == "4001"
    accounts = _rows(qbo, "select * from Account where AccountType = 'Bank'", "Account")
    assert {a["Name"] for a in accounts} == {"Checking", "Checking CAD"}
