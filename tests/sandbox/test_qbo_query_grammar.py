"""The QBO emulator's query grammar, construct by construct, and the faults for what QBO refuses.

Parsing is checked on :func:`query_grammar.parse`; meaning on :func:`query.execute` against a
seeded company in memory (the HTTP path is covered by test_qbo_query.py and the real SDKs in
test_real_clients_*.py). Every f-string below is QBO query text, never SQL: hence the S608 waiver.
"""
# ruff: noqa: S608

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from desktop.sandbox.qbo import query
from desktop.sandbox.qbo.query_grammar import DEFAULT_RESULTS, Condition, parse
from desktop.sandbox.qbo.seed import seed_all
from desktop.sandbox.qbo.store import Company
from desktop.sandbox.qbo.util import QboFault, loads

NOW = datetime(2026, 1, 15, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def company() -> Company:
    return next(iter(seed_all(1, NOW).values()))


def _fault(text: str) -> QboFault:
    with pytest.raises(QboFault) as caught:
        parse(text)
    return caught.value


def _rows(c: Company, text: str) -> list[dict[str, Any]]:
    answer = query.execute(c, parse(text))
    entity = parse(text).entity
    return [loads(raw.text) for raw in answer.get(entity, [])]


def _count(c: Company, text: str) -> int:
    total = query.execute(c, parse(text))["totalCount"]
    assert isinstance(total, int)
    return total


# ---- select list -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("SELECT * FROM Item", ["*"]),
        ("SELECT *, Sku FROM Item", ["*", "Sku"]),  # python-quickbooks Item.all()
        ("SELECT Id, Name FROM Item", ["Id", "Name"]),
        ("select Name,Sku,MetaData.LastUpdatedTime from Item", ["Name", "Sku", "MetaData.LastUpdatedTime"]),
    ],
)
def test_select_lists_parse(text: str, fields: list[str]) -> None:
    q = parse(text)
    assert (q.entity, q.count, q.fields) == ("Item", False, fields)


def test_projections_still_answer_whole_rows(company: Company) -> None:
    # "The response set always returns all properties for each object" (Intuit's query docs).
    whole = _rows(company, "SELECT * FROM Item")
    assert _rows(company, "SELECT *, Sku FROM Item") == whole
    assert _rows(company, "SELECT Id, Name FROM Item") == whole
    assert len(whole) > 1 and all({"Id", "Name", "Type", "MetaData"} <= row.keys() for row in whole)


@pytest.mark.parametrize("text", ["SELECT COUNT(*) FROM Customer", "select count( * ) from Customer"])
def test_count_answers_total_count_only(company: Company, text: str) -> None:
    q = parse(text)
    assert q.count and q.fields == []
    assert query.execute(company, q) == {"totalCount": len(list(company.all("Customer")))}


# ---- case-insensitivity ------------------------------------------------------------------------------
def test_keywords_entities_and_properties_ignore_case(company: Company) -> None:
    canonical = _rows(company, "SELECT * FROM Customer WHERE Active = true ORDERBY DisplayName")
    for text in (
        "select * from customer where active = TRUE orderby displayname",
        "Select * From CUSTOMER Where ACTIVE = True Order By DISPLAYNAME Asc",
    ):
        assert parse(text).entity == "Customer"
        assert _rows(company, text) == canonical
    answer = query.execute(company, parse("select * from customer maxresults 1"))
    assert list(answer) == ["Customer", "startPosition", "maxResults"]  # the canonical name


def test_dotted_metadata_fields_in_any_case(company: Company) -> None:
    everyone = len(list(company.all("Customer")))
    for path in ("MetaData.LastUpdatedTime", "Metadata.LastUpdatedTime", "metadata.lastupdatedtime"):
        assert _count(company, f"select count(*) from Customer where {path} < '2030-01-01'") == everyone
        assert _count(company, f"select count(*) from Customer where {path} > '2030-01-01T00:00:00-08:00'") == 0
    newest_first = _rows(company, "select * from Customer orderby MetaData.CreateTime desc, Id desc maxresults 2")
    assert [r["Id"] for r in newest_first] == sorted((r["Id"] for r in newest_first), key=int, reverse=True)


# ---- where clause ------------------------------------------------------------------------------------
def test_comparison_operators_and_literal_kinds(company: Company) -> None:
    q = parse("select * from Account where Active = true and CurrentBalance >= -5.5 and Name < 'M' and Id <= '9'")
    assert [(c.op, c.values) for c in q.where] == [
        ("=", [True]),
        (">=", [Decimal("-5.5")]),
        ("<", ["M"]),
        ("<=", ["9"]),
    ]
    ids = [int(r["Id"]) for r in _rows(company, "select * from Account where Id > '3' and Id < 6")]
    assert ids == [4, 5]
    assert _rows(company, "select * from Account where Id = '2'")[0]["Id"] == "2"
    assert _count(company, "select count(*) from Customer where Active = false") == 1
    assert _count(company, "select count(*) from Customer where Active = 'false'") == 1


def test_in_list_of_strings_and_numbers(company: Company) -> None:
    q = parse("select * from Item where Id in ('1', 2, '3')")
    assert q.where == [Condition("Id", "IN", ["1", Decimal(2), "3"])]
    assert [r["Id"] for r in _rows(company, "select * from Item where Id IN ('1', 2, '3', '999')")] == ["1", "2", "3"]


def test_like_has_only_the_percent_wildcard(company: Company) -> None:
    name = _rows(company, "select * from Item where Id = '1'")[0]["Name"]  # "Returned Merchandise"
    head, tail = name[:4], name[-4:]
    assert [r["Name"] for r in _rows(company, f"select * from Item where Name like '{head}%'")] == [name]
    assert name in [r["Name"] for r in _rows(company, f"select * from Item where Name LIKE '%{tail.upper()}'")]
    assert name in [r["Name"] for r in _rows(company, f"select * from Item where Name like '%{name[3:8]}%'")]
    assert _rows(company, f"select * from Item where Name like '{head[:-1]}_%'") == []  # "_" is literal
    assert _rows(company, f"select * from Item where Name like '{head[:-1]}*%'") == []  # so is "*"


def test_quoted_values_take_backslash_escapes() -> None:
    assert parse(r"select * from Customer where DisplayName = 'Men\'s Store'").where[0].values == ["Men's Store"]
    assert parse(r"select * from Customer where DisplayName = 'a\\b'").where[0].values == ["a\\b"]


def test_a_space_in_quotes_is_null(company: Company) -> None:
    without = sum(1 for r in company.all("Customer") if "CompanyName" not in r.obj)
    assert 0 < without < len(list(company.all("Customer")))
    assert _count(company, "select count(*) from Customer where CompanyName = ' '") == without
    assert _count(company, "select count(*) from Customer where CompanyName in (' ', 'nobody')") == without
    assert _count(company, "select count(*) from Customer where DisplayName = ' '") == 0


# ---- ordering and paging -------------------------------------------------------------------------------
@pytest.mark.parametrize("order_by", ["ORDERBY", "ORDER BY", "orderby", "order by"])
def test_orderby_in_both_spellings(company: Company, order_by: str) -> None:
    names = [r["Name"] for r in _rows(company, f"select * from Account {order_by} Name DESC")]
    assert names == sorted(names, key=str.lower, reverse=True) and len(names) > 3
    q = parse(f"select * from Account {order_by} AccountType, Name desc")
    assert q.order == [("AccountType", False), ("Name", True)]


def test_startposition_and_maxresults(company: Company) -> None:
    ids = [r["Id"] for r in _rows(company, "select * from Account orderby Id")]
    page = query.execute(company, parse("select * from Account orderby Id STARTPOSITION 3 MAXRESULTS 4"))
    assert (page["startPosition"], page["maxResults"]) == (3, 4)
    assert [loads(r.text)["Id"] for r in page["Account"]] == ids[2:6]
    swapped = parse("select * from Account maxresults 4 startposition 3")
    assert (swapped.start, swapped.max_results) == (3, 4)
    assert parse("select * from Account startposition 0").start == 1  # Intuit's .NET SDK sends 0
    assert parse("select * from Account").max_results == DEFAULT_RESULTS == 100
    assert parse("select * from Account maxresults 1000").max_results == 1000
    assert query.execute(company, parse("select * from Account startposition 500")) == {}


def test_statements_may_span_lines_and_end_with_a_semicolon() -> None:
    q = parse("SELECT\n    *\nFROM Customer\nWHERE Active = true\nORDERBY MetaData.LastUpdatedTime DESC;")
    assert (q.entity, q.order) == ("Customer", [("MetaData.LastUpdatedTime", True)])


def test_entities_without_records_answer_empty(company: Company) -> None:
    assert query.execute(company, parse("select * from Invoice")) == {}
    assert query.execute(company, parse("select count(*) from estimate")) == {"totalCount": 0}


# ---- faults --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("select * from Customer where Active = true or Active = false", 'Encountered "or" at line 1, column 44'),
        ("select * from Customer where Active = true OR Active = false", 'Encountered "OR"'),
        ("select from Customer", 'Encountered "from" at line 1, column 8'),
        ("select * Customer", 'Encountered "Customer"'),
        ("select * from Customer where", 'Encountered "<EOF>"'),
        ("select * from Customer where DisplayName != 'x'", 'Encountered: "!" (33)'),
        ("select * from Customer where DisplayName = 'open", "Encountered: <EOF> after"),
        ("select * from Customer where DisplayName like x", 'Encountered "x"'),
        ("select * from Customer where Id in ()", 'Encountered ")"'),
        ("select count(*), Id from Customer", 'Encountered ","'),
        ("select * from Customer maxresults abc", 'Encountered "abc"'),
        ("select * from Customer startposition -1", 'Encountered "-1"'),
        ("select * from Customer order Name", 'Encountered "Name"'),
        ("select * from Customer, Invoice", 'Encountered ","'),
        ("select * from Customer group by Id", 'Encountered "group"'),
        ("delete from Customer", 'Encountered "delete"'),
        ("", 'Encountered "<EOF>" at line 0, column 0'),
        ("select *\nfrom Customer\nwhere Active = true or Active = false", "at line 3, column 21"),
    ],
)
def test_syntax_errors_are_4000_query_parser_errors(text: str, where: str) -> None:
    fault = _fault(text)
    assert (fault.code, fault.message, fault.status) == ("4000", "Error parsing query", 400)
    assert fault.detail.startswith("QueryParserError: ") and where in fault.detail
    assert fault.fault_body()["type"] == "ValidationFault"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("select * from Customers", "QueryValidationError: Entity Customers is not supported."),
        (
            "select * from Customer maxresults 1001",
            "QueryValidationError: value 1001 is too large. Max allowed value is 1000",
        ),
    ],
)
def test_validation_errors_are_4001(text: str, detail: str) -> None:
    fault = _fault(text)
    assert (fault.code, fault.message, fault.detail) == ("4001", "Invalid query", detail)
