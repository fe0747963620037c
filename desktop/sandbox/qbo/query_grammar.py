"""The QBO query language's grammar: text → :class:`Query`, or a fault in QBO's shape.

Intuit's documented form (developer.intuit.com "Query operations and syntax")::

    SELECT * | count(*) FROM IntuitEntity [WHERE WhereClause] [ORDERBY OrderByClause]
    [STARTPOSITION Number] [MAXRESULTS Number]

as the service and the official SDKs actually speak it:

* A select list is accepted (``SELECT *, Sku FROM Item`` is what python-quickbooks sends for every
  ``Item.all()``; ``SELECT Id, Name FROM Account`` parses too). Projections are not supported, so
  every row comes back whole, as the documentation says.
* Keywords, entity names and property names are case-insensitive: Intuit's own samples query
  ``select * from exchangerate where sourcecurrencycode in (…)``, ``… where id = '239'`` and
  ``ORDERBY metadata.lastupdatedtime``; node-quickbooks sends lower-case entity names. Rows come
  back under the entity's canonical name.
* ``ORDERBY`` and ``ORDER BY`` (python-quickbooks ``all()`` sends the latter; the service's parser
  lists both ``"order"`` and ``"orderby"`` as expected tokens), several keys, ``ASC``/``DESC``.
* Operators ``=, <, >, <=, >=, IN (…), LIKE`` (``%`` is the only wildcard); conditions joined by
  ``AND``. ``OR`` is refused (4000 QueryParserError). Values: ``'quoted'`` (backslash escapes),
  numbers, ``true``/``false``; ``' '`` stands for null.
* ``STARTPOSITION`` is 1-based (0 reads as 1: Intuit's .NET SDK sends it); ``MAXRESULTS`` defaults
  to 100 and may not exceed 1000 (4001 QueryValidationError "value N is too large").

Faults: syntax → 4000 "Error parsing query" / ``QueryParserError: …``; an unknown entity or an
out-of-range value → 4001 "Invalid query" / ``QueryValidationError: …``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from desktop.sandbox.qbo.store import ENTITIES
from desktop.sandbox.qbo.util import QboFault

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100
NULL = " "  # QBO's spelling of null in a WHERE value
OPERATORS = ("=", "<", ">", "<=", ">=", "IN", "LIKE")

# Entities the real service answers queries for; those the emulator keeps no records of answer
# an empty result, as a company without such documents would.
QUERYABLE = {
    name.lower(): name
    for name in (
        *ENTITIES,
        "Attachable", "Bill", "BillPayment", "Budget", "CreditCardPayment", "CustomerType",
        "Deposit", "Employee", "Estimate", "ExchangeRate", "Invoice", "JournalCode", "Purchase",
        "PurchaseOrder", "RecurringTransaction", "ReimburseCharge", "SalesReceipt",
        "TaxClassification", "TaxPayment", "Term", "TimeActivity", "Transfer", "Vendor",
        "VendorCredit",
    )
}
_RESERVED = {"select", "from", "where", "and", "or", "in", "like", "orderby", "startposition", "maxresults"}

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<num>-?\d+(?:\.\d+)?(?![A-Za-z_]))"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<op><=|>=|=|<|>|\(|\)|,|\*)",
    re.DOTALL,
)


def parser_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}", "")


def validation_error(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}", "")


@dataclass(frozen=True)
class Token:
    kind: str  # "word" | "str" | "num" | "op" | "eof"
    text: str
    line: int
    column: int

    def shown(self) -> str:
        return "<EOF>" if self.kind == "eof" else self.text

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


@dataclass
class Condition:
    path: str
    op: str  # one of OPERATORS
    values: list[Any]


@dataclass
class Query:
    entity: str
    count: bool = False
    fields: list[str] = field(default_factory=list)  # the select list ("*" and property paths)
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (path, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS


def tokenize(text: str) -> list[Token]:
    """Tokens with 1-based line/column; a character outside the language is a lexical error."""
    out: list[Token] = []
    pos, line, line_start = 0, 1, 0
    text = text.rstrip().removesuffix(";")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            column = pos - line_start + 1
            ch = text[pos]
            if ch == "'":
                raise parser_error(
                    f"Invalid content. Lexical error at line {line}, column {len(text) - line_start + 1}.  "
                    f'Encountered: <EOF> after : "{text[pos:]}"'
                )
            raise parser_error(
                f"Invalid content. Lexical error at line {line}, column {column}.  "
                f'Encountered: "{ch}" ({ord(ch)}), after : ""'
            )
        kind = m.lastgroup or ""
        if kind != "space":
            out.append(Token(kind, m.group(), line, pos - line_start + 1))
        for i in range(pos, m.end()):
            if text[i] == "\n":
                line, line_start = line + 1, i + 1
        pos = m.end()
    out.append(Token("eof", "", line, pos - line_start + 1))
    return out


def parse(text: str) -> Query:
    if not text.strip():
        raise parser_error('Encountered "<EOF>" at line 0, column 0.\nWas expecting:\n    "select" ...\n')
    return _Parser(tokenize(text)).statement()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0

    # ---- token plumbing ------------------------------------------------------------------------
    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def accept(self, *words: str) -> bool:
        if self.peek().is_word(*words):
            self.take()
            return True
        return False

    def accept_op(self, op: str) -> bool:
        tok = self.peek()
        if tok.kind == "op" and tok.text == op:
            self.take()
            return True
        return False

    def unexpected(self, *expecting: str) -> QboFault:
        tok = self.peek()
        listed = "".join(f"    {e} ...\n" for e in expecting)
        return parser_error(
            f'Encountered "{tok.shown()}" at line {tok.line}, column {tok.column}.\n'
            f"Was expecting one of:\n{listed}"
        )

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise self.unexpected(f'"{word}"')

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise self.unexpected(f'"{op}"')

    # ---- grammar -------------------------------------------------------------------------------
    def statement(self) -> Query:
        self.expect("select")
        counting, fields = self.select_list()
        self.expect("from")
        tok = self.peek()
        if tok.kind != "word" or tok.text.lower() in _RESERVED:
            raise self.unexpected("<IDENTIFIER>")
        self.take()
        entity = QUERYABLE.get(tok.text.lower())
        if entity is None:
            raise validation_error(f"Entity {tok.text} is not supported.")
        q = Query(entity, counting, fields)
        if self.accept("where"):
            q.where.append(self.condition())
            while self.accept("and"):
                q.where.append(self.condition())
            if self.peek().is_word("or"):
                raise self.unexpected("<EOF>", '"and"', '"orderby"', '"startposition"', '"maxresults"')
        if self.accept("orderby") or (self.peek().is_word("order") and self.order_by()):
            q.order.append(self.order_key())
            while self.accept_op(","):
                q.order.append(self.order_key())
        self.paging(q)
        if self.peek().kind != "eof":
            raise self.unexpected("<EOF>")
        return q

    def select_list(self) -> tuple[bool, list[str]]:
        if self.peek().is_word("count"):
            self.take()
            self.expect_op("(")
            self.expect_op("*")
            self.expect_op(")")
            return True, []
        fields = [self.select_item()]
        while self.accept_op(","):
            fields.append(self.select_item())
        return False, fields

    def select_item(self) -> str:
        if self.accept_op("*"):
            return "*"
        return self.path('"*"', '"count"', "<IDENTIFIER>")

    def path(self, *expecting: str) -> str:
        tok = self.peek()
        if tok.kind != "word" or tok.text.lower() in _RESERVED:
            raise self.unexpected(*(expecting or ("<IDENTIFIER>",)))
        self.take()
        return tok.text

    def condition(self) -> Condition:
        path = self.path()
        tok = self.peek()
        if tok.is_word("in"):
            self.take()
            self.expect_op("(")
            values = [self.literal()]
            while self.accept_op(","):
                values.append(self.literal())
            self.expect_op(")")
            return Condition(path, "IN", values)
        if tok.is_word("like"):
            self.take()
            if self.peek().kind != "str":
                raise self.unexpected("<STRING_LITERAL>")
            return Condition(path, "LIKE", [self.literal()])
        if tok.kind == "op" and tok.text in OPERATORS:
            self.take()
            return Condition(path, tok.text, [self.literal()])
        raise self.unexpected('"="', '"<"', '">"', '"<="', '">="', '"in"', '"like"')

    def literal(self) -> Any:
        tok = self.peek()
        if tok.kind == "str":
            self.take()
            return re.sub(r"\\(.)", r"\1", tok.text[1:-1], flags=re.DOTALL)
        if tok.kind == "num":
            self.take()
            return Decimal(tok.text)
        if tok.is_word("true", "false"):
            self.take()
            return tok.text.lower() == "true"
        raise self.unexpected("<STRING_LITERAL>", "<NUMBER>", '"true"', '"false"')

    def order_by(self) -> bool:
        self.take()  # ORDER
        self.expect("by")
        return True

    def order_key(self) -> tuple[str, bool]:
        path = self.path()
        if self.accept("desc"):
            return path, True
        self.accept("asc")
        return path, False

    def paging(self, q: Query) -> None:
        seen: set[str] = set()
        while self.peek().is_word("startposition", "maxresults") and self.peek().text.lower() not in seen:
            word = self.take().text.lower()
            seen.add(word)
            tok = self.peek()
            if tok.kind != "num" or not tok.text.isdigit():
                raise self.unexpected("<INTEGER>")
            self.take()
            value = int(tok.text)
            if word == "startposition":
                q.start = max(value, 1)
            elif value > MAX_RESULTS:
                raise validation_error(f"value {value} is too large. Max allowed value is {MAX_RESULTS}")
            else:
                q.max_results = value
