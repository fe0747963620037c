"""QuickBooks Online, the write side: batch create, look-up by idempotency key, read one document.

Kept apart from :mod:`desktop.services.platforms.qbo.connector` (the read side) and built on the same
connector parts — a :class:`~desktop.services.platforms.http.LedgerHttp` and the company's base URL.

Posting (API_FACTS §3): up to 30 creates per ``POST /batch`` with a batch-level ``requestid``
(≤ 36 characters; QBO answers a repeated id with the original response instead of re-executing)
and per-item ``bId`` (≤ 10 characters). Each ``BatchItemResponse`` is mapped back by ``bId``:

- the entity → posted (``Id``, ``DocNumber``, ``SyncToken``);
- a ``Fault``: 3001 (throttled inside the batch) → retry later; 6140 (duplicate DocNumber) →
  *duplicate*, which the poster resolves by looking the key up (it may be our own earlier post);
  anything else (6210 closed period, 5010, 6000, 610, 2500, …) → quarantine with QBO's message;
- no answer at all, a dropped connection or a 5xx for the whole batch → uncertain: it may have
  landed, so the key is looked up before any re-send.

The outcome types are the platforms' shared ones (:mod:`desktop.services.platforms.shapes`).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import requests

from desktop.services.core.domain import closed_period_fix
from desktop.services.core.errors import AppError, NeedsPersonError, NeedsReconnect, TransientError
from desktop.services.core.exact_json import dumps as wire_json
from desktop.services.platforms.base import decode_json, expect_ok
from desktop.services.platforms.http import LedgerHttp
from desktop.services.platforms.posting import send_request
from desktop.services.platforms.qbo.connector import MINOR_VERSION, PLATFORM, QboConnector, translate_error
from desktop.services.platforms.shapes import Outcome, PostRequest, RemoteDoc, SendResult, batch_id

MAX_BATCH = 30
REQUEST_ID_MAX = 36
_JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _remote(doc_type: str, obj: dict[str, Any]) -> RemoteDoc:
    return RemoteDoc(doc_type, str(obj["Id"]), obj.get("DocNumber"),
                     None if obj.get("SyncToken") is None else str(obj["SyncToken"]), obj)


def _fault_error(fault: dict[str, Any]) -> tuple[str | None, AppError]:
    errors = fault.get("Error") or fault.get("error") or [{}]
    first = errors[0] if isinstance(errors, list) and errors else {}
    code = str(first.get("code") or first.get("Code") or "") or None
    text = " — ".join(p for p in (first.get("Message") or first.get("message"),
                                  first.get("Detail") or first.get("detail")) if p) or "refused"
    kw: dict[str, Any] = {"platform": PLATFORM, "platform_code": code, "platform_message": text}
    if code == "3001":
        return code, TransientError("QuickBooks throttled this document inside the batch", **kw)
    if code == "6140":
        return code, NeedsPersonError("QuickBooks already has a document with this number",
                                      action="check the ledger: if it is not ours, renumber one of them", **kw)
    if code == "6210":
        return code, NeedsPersonError("QuickBooks' books are closed for this document's date",
                                      action=f"reopen the period in QuickBooks, or {closed_period_fix()}, then "
                                             "retry", **kw)
    if code is not None and code.isdigit() and int(code) >= 10000:
        return code, TransientError("QuickBooks had an internal problem with this document", **kw)
    return code, NeedsPersonError("QuickBooks refused the document", action="fix what QuickBooks names, then retry",
                                  **kw)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def customer_name(name: str) -> str:
    """A QBO DisplayName from free text: single spaces, at most 100 characters."""
    return " ".join(name.split())[:100]


def _currency_name(name: str, currency: str | None) -> str:
    suffix = f" ({currency})" if currency else ""
    return name[:100 - len(suffix)] + suffix


def _currency_fits(customer: dict[str, Any], currency: str | None) -> bool:
    held = (customer.get("CurrencyRef") or {}).get("value")
    return currency is None or held is None or held == currency


def _select_in(entity: str, field: str, values: list[str]) -> str:
    """``… WHERE field IN ('a', 'b') MAXRESULTS 1000`` (QBO's query language, values escaped)."""
    listed = ", ".join(f"'{_quote(v)}'" for v in values)
    return f"SELECT * FROM {entity} WHERE {field} IN ({listed}) MAXRESULTS 1000"  # noqa: S608 - escaped; not SQL


def _select(entity: str, field: str, op: str, value: str) -> str:
    """A statement of QBO's query language (not SQL): the value is escaped, names are our own."""
    return f"SELECT * FROM {entity} WHERE {field} {op} '{_quote(value)}'"  # noqa: S608 - escaped; not SQL


class QboWriter:
    """Creates and finds documents in one QBO company."""

    platform = PLATFORM
    max_batch = MAX_BATCH

    def __init__(self, http: LedgerHttp, company_base_url: str) -> None:
        self.http = http
        self.base = company_base_url.rstrip("/")
        # Found or created during this writer's life (one posting run): asked once, not per claim.
        self._customer_ids: dict[tuple[str, str | None], str] = {}
        #: Customers this writer found or created, as QuickBooks returned them (by Id): what the
        #: poster adds to the reference cache so the next plan names them without a look-up.
        self.customers_seen: dict[str, dict[str, Any]] = {}
        self._item_ids: dict[str, str] = {}

    def _send_batch(self, items: list[dict[str, Any]], request_id: str) -> requests.Response:
        """``POST /batch``, after taking one slot of the connection's throttle per item.

        QuickBooks counts every batch item toward the realm's 500-a-minute limit like a call of its
        own, besides the batch request itself (API_FACTS §3). Counting only requests, a poster sends
        up to 30 times the limit's worth of items a minute and QuickBooks refuses the excess item by
        item (3001 ThrottleExceeded). Every batch — creates, look-ups, customer queries — goes here.
        """
        throttle = self.http.throttle
        for _ in items:
            throttle.acquire()
            throttle.release()
        return self.http.request("POST", f"{self.base}/batch", idempotent=True, headers=_JSON,
                                 params={"minorversion": MINOR_VERSION, "requestid": request_id[:REQUEST_ID_MAX]},
                                 data=wire_json({"BatchItemRequest": items}).encode())

    @classmethod
    def from_connector(cls, connector: QboConnector) -> QboWriter:
        return cls(connector.http, connector.base)

    # --- posting -----------------------------------------------------------------------------

    def post_batch(self, items: list[PostRequest], request_id: str) -> list[SendResult]:
        """Create ``items`` (≤ 30) in one batch request; one result per item, in order.

        Raises:
            NeedsReconnect: the token was refused; nothing was processed.
        """
        if not items:
            return []
        if len(items) > MAX_BATCH or len(request_id) > REQUEST_ID_MAX:
            raise ValueError("a QBO batch holds at most 30 items and a requestid of at most 36 characters")
        batch = [{"bId": str(i), "operation": "create", it.doc_type: it.body} for i, it in enumerate(items)]
        resp = send_request(items, lambda: self._send_batch(batch, request_id), translate_error)
        if isinstance(resp, list):
            return resp
        answers = {str(a.get("bId")): a for a in decode_json(resp).get("BatchItemResponse") or []}
        out: list[SendResult] = []
        for i, it in enumerate(items):
            ans = answers.get(str(i))
            if ans is None:
                out.append(SendResult(it.key, Outcome.UNCERTAIN, error=TransientError(
                    "QuickBooks answered the batch without this document", platform=PLATFORM)))
            elif isinstance(ans.get(it.doc_type), dict):
                out.append(SendResult(it.key, Outcome.POSTED, _remote(it.doc_type, ans[it.doc_type])))
            else:
                code, err = _fault_error(ans.get("Fault") or {})
                outcome = (Outcome.DUPLICATE if code == "6140" else
                           Outcome.RETRY if isinstance(err, TransientError) else Outcome.QUARANTINE)
                out.append(SendResult(it.key, outcome, error=err))
        return out

    # --- finding -----------------------------------------------------------------------------

    def _query(self, statement: str) -> dict[str, Any]:
        resp = self.http.request("GET", f"{self.base}/query", headers={"Accept": "application/json"},
                                 params={"minorversion": MINOR_VERSION, "query": statement})
        body: dict[str, Any] = expect_ok(resp, translate_error).get("QueryResponse") or {}
        return body

    def find_by_key(self, key: str, doc_type: str, doc_number: str | None = None) -> RemoteDoc | None:
        """The document whose ``PrivateNote`` carries ``key`` (falling back to its ``DocNumber``)."""
        return self.find_many([(key, doc_type, doc_number)])[key]

    def find_many(self, wanted: list[tuple[str, str, str | None]]) -> dict[str, RemoteDoc | None]:
        """Look many keys up at once: one batch of ``Query`` items per 30 keys.

        A query item QBO refuses (PrivateNote not searchable) falls back to ``DocNumber = …``,
        keeping only rows whose PrivateNote names the key.
        """
        found: dict[str, RemoteDoc | None] = {}
        for start in range(0, len(wanted), MAX_BATCH):
            chunk = wanted[start:start + MAX_BATCH]
            resp = self._send_batch([{"bId": str(i), "Query": _select(doc_type, "PrivateNote", "LIKE", f"%{key}%")}
                                     for i, (key, doc_type, _n) in enumerate(chunk)], "q" + uuid.uuid4().hex)
            answers = {str(a.get("bId")): a for a in expect_ok(resp, translate_error).get("BatchItemResponse") or []}
            for i, (key, doc_type, number) in enumerate(chunk):
                ans = answers.get(str(i)) or {}
                if "QueryResponse" in ans:
                    rows = ans["QueryResponse"].get(doc_type) or []
                else:
                    rows = self._by_number(doc_type, number)
                hits = [r for r in rows if key in str(r.get("PrivateNote") or "")]
                found[key] = _remote(doc_type, hits[0]) if hits else None
        return found

    def _by_number(self, doc_type: str, number: str | None) -> list[dict[str, Any]]:
        if not number:
            return []
        rows: list[dict[str, Any]] = self._query(_select(doc_type, "DocNumber", "=", number)).get(doc_type) or []
        return rows

    def get(self, doc_type: str, remote_id: str) -> RemoteDoc:
        """One document by its ``Id``."""
        resp = self.http.request("GET", f"{self.base}/{doc_type.lower()}/{remote_id}",
                                 headers={"Accept": "application/json"}, params={"minorversion": MINOR_VERSION})
        return _remote(doc_type, expect_ok(resp, translate_error)[doc_type])

    def exchange_rate(self, currency: str, day: date) -> dict[str, Any] | None:
        """QBO's ``ExchangeRate`` of ``currency`` (home units per 1) as of ``day``; None when it has none."""
        resp = self.http.request("GET", f"{self.base}/exchangerate", headers={"Accept": "application/json"},
                                 params={"minorversion": MINOR_VERSION, "sourcecurrencycode": currency,
                                         "asofdate": day.isoformat()})
        if resp.status_code == 400 and translate_error(resp).platform_code == "610":
            return None
        rate: dict[str, Any] | None = expect_ok(resp, translate_error).get("ExchangeRate")
        return rate

    # --- what documents refer to, created on demand --------------------------------------------

    def _create(self, entity: str, body: dict[str, Any], request_id: str) -> dict[str, Any]:
        resp = self.http.request("POST", f"{self.base}/{entity.lower()}", idempotent=True, headers=_JSON,
                                 params={"minorversion": MINOR_VERSION, "requestid": request_id[:50]},
                                 data=wire_json(body).encode())
        created: dict[str, Any] = expect_ok(resp, translate_error)[entity]
        return created

    def _batch(self, items: list[dict[str, Any]], request_id: str) -> dict[str, dict[str, Any]]:
        resp = self._send_batch(items, request_id)
        return {str(a.get("bId")): a for a in expect_ok(resp, translate_error).get("BatchItemResponse") or []}

    def ensure_customers(self, wanted: list[tuple[str, str | None, str | None]]
                         ) -> dict[tuple[str, str | None], str | AppError]:
        """Customer Id per (display name, currency) for many (name, e-mail, currency) at once.

        A QBO customer has one currency, so a person who returns in two currencies needs two
        customers: the plain name is used when it is free or already in that currency, else
        ``Name (CAD)``. Names already resolved by this writer cost nothing; the rest are looked up
        with ``DisplayName IN (…)`` queries (60 names per query item, 30 items per batch), and what
        QBO does not have is created in batches of 30 — a posting run asks about each customer
        once. A name QBO refuses maps to the error (the poster quarantines or retries that document).
        """
        info: dict[tuple[str, str | None], str | None] = {}
        for name, email, currency in wanted:
            info.setdefault((customer_name(name), currency), email)
        out: dict[tuple[str, str | None], str | AppError] = {
            k: self._customer_ids[k] for k in info if k in self._customer_ids}
        keys = sorted((k for k in info if k not in out), key=lambda k: (k[0], k[1] or ""))
        found = self._customers_named(sorted({n for k in keys for n in (k[0], _currency_name(*k))})) if keys else {}
        create: dict[tuple[str, str | None], str] = {}
        claimed: set[str] = set()
        for key in keys:
            plain = found.get(key[0].casefold(), [])
            suffixed = found.get(_currency_name(*key).casefold(), [])
            fits = [c for c in (*plain, *suffixed) if _currency_fits(c, key[1])]
            if fits:
                out[key] = str(fits[0]["Id"])
                self.customers_seen[str(fits[0]["Id"])] = fits[0]
            elif plain or key[0] in claimed:  # the plain name is another currency's: suffix this one
                create[key] = _currency_name(*key)
            else:
                create[key] = key[0]
                claimed.add(key[0])
        todo = sorted(create, key=lambda k: (k[0], k[1] or ""))
        for start in range(0, len(todo), MAX_BATCH):
            chunk = todo[start:start + MAX_BATCH]
            items = []
            for i, key in enumerate(chunk):
                body: dict[str, Any] = {"DisplayName": create[key]}
                if info[key]:
                    body["PrimaryEmailAddr"] = {"Address": info[key]}
                if key[1]:
                    body["CurrencyRef"] = {"value": key[1]}
                items.append({"bId": str(i), "operation": "create", "Customer": body})
            answers = self._batch(items, batch_id([create[k] for k in chunk], "cust", REQUEST_ID_MAX))
            for i, key in enumerate(chunk):
                ans = answers.get(str(i))
                if ans is None:
                    out[key] = TransientError("QuickBooks answered the batch without this customer", platform=PLATFORM)
                elif isinstance(ans.get("Customer"), dict):
                    out[key] = str(ans["Customer"]["Id"])
                    self.customers_seen[str(ans["Customer"]["Id"])] = ans["Customer"]
                else:
                    code, err = _fault_error(ans.get("Fault") or {})
                    try:
                        out[key] = self.ensure_customer(create[key], info[key], key[1]) if code == "6240" else err
                    except NeedsReconnect:
                        raise
                    except AppError as exc:
                        out[key] = exc
        self._customer_ids.update((k, v) for k, v in out.items() if isinstance(v, str))
        return out

    def _customers_named(self, names: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Customers by case-folded DisplayName, for many names in as few requests as possible.

        A query item QBO refuses (should ``IN`` not be accepted on DisplayName) falls back to one
        ``=`` query item per name for that slice.
        """
        per_item = 60
        out: dict[str, list[dict[str, Any]]] = {}
        slices = [names[i:i + per_item] for i in range(0, len(names), per_item)]
        retry: list[str] = []
        for start in range(0, len(slices), MAX_BATCH):
            group = slices[start:start + MAX_BATCH]
            answers = self._batch([{"bId": str(i), "Query": _select_in("Customer", "DisplayName", part)}
                                   for i, part in enumerate(group)], "q" + uuid.uuid4().hex)
            for i, part in enumerate(group):
                ans = answers.get(str(i)) or {}
                if "QueryResponse" not in ans:
                    retry.extend(part)
                    continue
                for row in ans["QueryResponse"].get("Customer") or []:
                    out.setdefault(str(row.get("DisplayName", "")).casefold(), []).append(row)
        for start in range(0, len(retry), MAX_BATCH):
            part = retry[start:start + MAX_BATCH]
            answers = self._batch([{"bId": str(i), "Query": _select("Customer", "DisplayName", "=", n)}
                                   for i, n in enumerate(part)], "q" + uuid.uuid4().hex)
            for i, _name in enumerate(part):
                for row in (answers.get(str(i)) or {}).get("QueryResponse", {}).get("Customer") or []:
                    out.setdefault(str(row.get("DisplayName", "")).casefold(), []).append(row)
        return out

    def ensure_customer(self, name: str, email: str | None, currency: str | None) -> str:
        """The Id of the customer named ``name``, created if QBO has none (deduplicated by name)."""
        display = " ".join(name.split())[:100]
        rows = self._query(_select("Customer", "DisplayName", "=", display)).get("Customer") or []
        if rows:
            return self._fitting(rows[0], display, currency)
        body: dict[str, Any] = {"DisplayName": display}
        if email:
            body["PrimaryEmailAddr"] = {"Address": email}
        if currency:
            body["CurrencyRef"] = {"value": currency}
        try:
            return str(self._create("Customer", body, batch_id([display], "cust", 50))["Id"])
        except NeedsPersonError as exc:
            if exc.platform_code != "6240":  # duplicate name: someone created it meanwhile
                raise
        rows = self._query(_select("Customer", "DisplayName", "=", display)).get("Customer") or []
        if not rows:
            raise NeedsPersonError(f"QuickBooks says customer “{display}” exists but it cannot be found",
                                   platform=PLATFORM, action="check the customer list (it may be inactive)")
        return self._fitting(rows[0], display, currency)

    @staticmethod
    def _fitting(customer: dict[str, Any], display: str, currency: str | None) -> str:
        if not _currency_fits(customer, currency):
            raise NeedsPersonError(f"QuickBooks customer “{display}” is kept in another currency than {currency}",
                                   platform=PLATFORM, action="add a customer for this currency in QuickBooks (or "
                                   "map the RMS customer to one), then retry")
        return str(customer["Id"])

    def ensure_item(self, account_id: str) -> str:
        """A service item whose income account is ``account_id`` (``RLS account <id>``), created on demand."""
        if account_id in self._item_ids:
            return self._item_ids[account_id]
        name = f"RLS account {account_id}"
        rows = self._query(_select("Item", "Name", "=", name)).get("Item") or []
        if rows:
            item_id = str(rows[0]["Id"])
        else:
            body = {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": account_id}}
            item_id = str(self._create("Item", body, batch_id([name], "item", 50))["Id"])
        self._item_ids[account_id] = item_id
        return item_id
