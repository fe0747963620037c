"""``/api.xro/2.0/…`` endpoints: routing, reads, batched writes and their error semantics.

Xero matches paths case-insensitively. Writes accept a wrapped collection (``{"CreditNotes": [...]}``)
or a single element; with ``summarizeErrors=false`` every element reports its own
``StatusAttributeString``, otherwise any failure turns the answer into a 400 ValidationException
while the valid siblings are still saved — both exactly as the real service behaves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request

from desktop.sandbox.xero import creditnotes, invoices, items, journals, payments
from desktop.sandbox.xero.creditnotes import Outcome, touch
from desktop.sandbox.xero.envelope import ApiError, envelope, list_view, not_found, validation_error
from desktop.sandbox.xero.msjson import loads, render
from desktop.sandbox.xero.store import Doc, Tenant
from desktop.sandbox.xero.validation import Problems

Notify = Callable[[Tenant, str, str, Doc], None]  # (tenant, category, event type, doc)

_ACCOUNT_TYPES = {
    "BANK",
    "CURRENT",
    "CURRLIAB",
    "DEPRECIATN",
    "DIRECTCOSTS",
    "EQUITY",
    "EXPENSE",
    "FIXED",
    "INVENTORY",
    "LIABILITY",
    "NONCURRENT",
    "OTHERINCOME",
    "OVERHEADS",
    "PREPAYMENT",
    "REVENUE",
    "SALES",
    "TERMLIAB",
}
_CLASS = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "EQUITY": "EQUITY",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
}
_ID_KEY = {"Contacts": "ContactID", "Invoices": "InvoiceID", "Payments": "PaymentID"}
_SUMMARY_WITHOUT_PAGE = {"CreditNotes", "Invoices"}
# Collections whose element schema carries StatusAttributeString (Accounts' does not).
_STATUS_ATTR = {"CreditNotes", "Payments", "Contacts", "ManualJournals", "Allocations", "Items", "Invoices"}
_ERROR_FLAG = {
    "CreditNotes": "HasErrors",
    "Invoices": "HasErrors",
    "Payments": "HasValidationErrors",
    "Contacts": "HasValidationErrors",
}


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class Api:
    """Stateless request handling over a :class:`Tenant`; the caller holds the store lock."""

    def __init__(self, notify: Notify) -> None:
        self._notify = notify

    # -- entry ---------------------------------------------------------------------------------
    def dispatch(self, request: Request, t: Tenant, parts: list[str], now: datetime) -> tuple[int, dict[str, Any]]:
        name = parts[0].lower() if parts else ""
        method = request.method
        key = (name, len(parts), method)
        sub = parts[2].lower() if len(parts) > 2 else ""
        if name == "organisation" and key[1:] == (1, "GET"):
            return 200, envelope(now, "Organisations", [t.organisation])
        if name == "currencies" and key[1:] == (1, "GET"):
            return 200, envelope(now, "Currencies", list_view(request, list(t.currencies.values()), False)[0])
        if name == "taxrates" and method == "GET" and len(parts) in (1, 2):
            if len(parts) == 2:
                rate = t.tax_rates.get(parts[1].upper())
                if rate is None:
                    raise not_found()
                return 200, envelope(now, "TaxRates", [rate])
            return 200, envelope(now, "TaxRates", list_view(request, list(t.tax_rates.values()), False)[0])
        if name == "trackingcategories" and method == "GET" and len(parts) in (1, 2):
            return self._read(request, now, t.tracking, parts, "TrackingCategories", paged=False)
        if name == "items" and method == "GET" and len(parts) in (1, 2):
            if len(parts) == 2 and not _is_guid(parts[1]):
                item = t.item_by_code(parts[1])
                if item is None:
                    raise not_found()
                return 200, envelope(now, "Items", [item])
            return self._read(request, now, t.items, parts, "Items", paged=False)
        if name == "items" and method in ("PUT", "POST") and len(parts) == 1:
            return self._write(request, "Items", lambda raw: items.create_item(t, raw, now), now)
        if name == "invoices" and method == "GET" and len(parts) in (1, 2):
            return self._read(request, now, t.invoices, parts, "Invoices", paged=True)
        if name == "invoices" and method in ("PUT", "POST") and len(parts) in (1, 2):
            return self._write(request, "Invoices", lambda raw: self._save_invoice(t, raw, now, request, parts), now, t)
        if name == "accounts":
            if method == "GET" and len(parts) in (1, 2):
                return self._read(request, now, t.accounts, parts, "Accounts", paged=False)
            if method == "PUT" and len(parts) == 1:
                return self._write(request, "Accounts", lambda raw: self._create_account(t, raw, now), now)
        if name == "contacts":
            if method == "GET" and len(parts) in (1, 2):
                show_archived = request.args.get("includeArchived", "").lower() == "true"
                term = request.args.get("searchTerm", "").lower()
                return self._read(
                    request,
                    now,
                    t.contacts,
                    parts,
                    "Contacts",
                    paged=True,
                    extra=lambda c: (
                        (show_archived or c["ContactStatus"] != "ARCHIVED")
                        and (
                            not term
                            or term in str(c.get("Name", "")).lower()
                            or term in str(c.get("EmailAddress", "")).lower()
                        )
                    ),
                )
            if method in ("PUT", "POST") and len(parts) in (1, 2):
                return self._write(request, "Contacts", lambda raw: self._save_contact(t, raw, now, parts), now)
        if name == "creditnotes":
            if method == "GET" and len(parts) in (1, 2):
                return self._read(request, now, t.credit_notes, parts, "CreditNotes", paged=True)
            if method in ("PUT", "POST") and len(parts) in (1, 2):
                unitdp = 4 if request.args.get("unitdp") == "4" else 2

                def save_cn(raw: dict[str, Any]) -> Outcome:
                    if len(parts) == 2:
                        raw = {**raw, "CreditNoteID": parts[1]}
                    out = creditnotes.save_credit_note(t, raw, now, unitdp, allow_number_match=method == "POST")
                    self._emit(t, "CREDITNOTE", out)
                    return out

                return self._write(request, "CreditNotes", save_cn, now, t)
            if sub == "allocations" and len(parts) == 3 and method == "PUT":
                cn = self._get(t.credit_notes, parts[1])
                return self._write(request, "Allocations", lambda raw: self._allocate(t, cn, raw, now), now)
            if sub == "allocations" and len(parts) == 4 and method == "DELETE":
                cn = self._get(t.credit_notes, parts[1])
                deleted = creditnotes.delete_allocation(t, cn, parts[3], now)
                if deleted is None:
                    raise not_found()
                self._notify(t, "CREDITNOTE", "UPDATE", cn)
                return 200, render(deleted)
        if name == "payments":
            if method == "GET" and len(parts) in (1, 2):
                return self._read(request, now, t.payments, parts, "Payments", paged=True)
            if method == "PUT" and len(parts) == 1:
                return self._write(request, "Payments", lambda raw: self._pay(t, raw, now), now)
            if method == "POST" and len(parts) == 2:
                pay = self._get(t.payments, parts[1])
                return self._write(request, "Payments", lambda raw: self._unpay(t, pay, raw, now), now, t)
        if name == "manualjournals":
            if method == "GET" and len(parts) in (1, 2):
                return self._read(request, now, t.manual_journals, parts, "ManualJournals", paged=True)
            if method in ("PUT", "POST") and len(parts) in (1, 2):

                def save_mj(raw: dict[str, Any]) -> Outcome:
                    if len(parts) == 2:
                        raw = {**raw, "ManualJournalID": parts[1]}
                    return journals.save_journal(t, raw, now)

                return self._write(request, "ManualJournals", save_mj, now, t)
        raise not_found()

    # -- reads ---------------------------------------------------------------------------------
    @staticmethod
    def _get(docs: dict[str, Doc], doc_id: str) -> Doc:
        doc = docs.get(doc_id.lower())
        if doc is None:
            raise not_found()
        return doc

    def _read(
        self,
        request: Request,
        now: datetime,
        docs: dict[str, Doc],
        parts: list[str],
        key: str,
        paged: bool,
        extra: Callable[[Doc], bool] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        if len(parts) == 2:
            return 200, envelope(now, key, [self._get(docs, parts[1])])
        ids = {i.strip().lower() for i in request.args.get("IDs", "").split(",") if i.strip()}
        chosen = (
            [d for d in docs.values() if str(d.get(_ID_KEY.get(key, ""), "")).lower() in ids]
            if ids
            else list(docs.values())
        )
        items, pagination = list_view(request, chosen, paged, extra)
        if key in _SUMMARY_WITHOUT_PAGE and pagination is None:
            # Xero returns line details on lists only when paging ("page=1 – up to 100 … with line
            # items shown"); an unpaged list carries empty LineItems, so clients must page.
            items = [{**d, "LineItems": []} for d in items]
        return 200, envelope(now, key, items, pagination)

    # -- writes --------------------------------------------------------------------------------
    def _write(
        self, request: Request, key: str, save: Callable[[dict[str, Any]], Outcome], now: datetime,
        tenant: Tenant | None = None,
    ) -> tuple[int, dict[str, Any]]:
        try:
            body = loads(request.get_data())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(
                400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "Invalid Json data"}
            ) from exc
        wrapped = next((k for k in body if k.lower() == key.lower()), None) if isinstance(body, dict) else None
        raws = body[wrapped] if wrapped else [body]
        if not isinstance(raws, list) or not all(isinstance(r, dict) for r in raws):
            raise ApiError(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "Invalid Json data"})
        summarize = request.args.get("summarizeErrors", "true").lower() != "false"
        elements: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for raw in raws:
            if tenant is not None:
                _count_takeback(tenant, request, key, raw)
            try:
                out = save(raw)
            except (AttributeError, TypeError, KeyError, ValueError, ArithmeticError) as exc:
                # Garbage inside an element (a string where an object belongs…): Xero answers with
                # a validation error for that element rather than failing the whole request.
                out = Outcome(None)
                out.problems.add(f"The {key[:-1]} element could not be read ({exc.__class__.__name__}).")
            if out.doc is not None and not out.problems:
                ok = render(out.doc)
                if key in _STATUS_ATTR:
                    ok["StatusAttributeString"] = "OK"
                elements.append(ok)
                continue
            echo = {
                **render(raw),
                "StatusAttributeString": "ERROR",
                "ValidationErrors": [{"Message": m} for m in out.problems.messages],
            }
            if key in _ERROR_FLAG:
                echo[_ERROR_FLAG[key]] = True
            elements.append(echo)
            failed.append(echo)
        if failed and summarize:
            return 400, validation_error(failed)
        return 200, envelope(now, key, elements)

    def _emit(self, t: Tenant, category: str, out: Outcome) -> None:
        if out.doc is not None and out.event and not out.problems:
            contact = out.doc.get("Contact", {}).get("ContactID")
            if contact and t.contacts.get(contact, {}).get("_announce"):
                self._notify(t, "CONTACT", "CREATE", t.contacts[contact])
                t.contacts[contact].pop("_announce")
            self._notify(t, category, out.event, out.doc)

    def _allocate(self, t: Tenant, cn: Doc, raw: dict[str, Any], now: datetime) -> Outcome:
        alloc, problems = creditnotes.allocate(t, cn, raw, now)
        if alloc is None:
            return Outcome(None, problems)
        self._notify(t, "CREDITNOTE", "UPDATE", cn)
        summary = {
            "CreditNoteID": cn["CreditNoteID"],
            "CreditNoteNumber": cn["CreditNoteNumber"],
            "Type": cn["Type"],
            "Status": cn["Status"],
            "RemainingCredit": cn["RemainingCredit"],
        }
        return Outcome({**alloc, "CreditNote": summary}, problems, "CREATE")

    def _save_invoice(self, t: Tenant, raw: dict[str, Any], now: datetime, request: Request,
                      parts: list[str]) -> Outcome:
        if len(parts) == 2:
            raw = {**raw, "InvoiceID": parts[1]}
        out = invoices.save_invoice(t, raw, now, 4 if request.args.get("unitdp") == "4" else 2)
        self._emit(t, "INVOICE", out)
        return out

    def _paid(self, t: Tenant, out: Outcome) -> Outcome:
        """A payment's change moves the document it pays: tell the subscribers of that one."""
        if out.doc is not None and "CreditNote" in out.doc:
            self._notify(t, "CREDITNOTE", "UPDATE", t.credit_notes[out.doc["CreditNote"]["CreditNoteID"]])
        elif out.doc is not None and "Invoice" in out.doc and out.doc["Invoice"]["InvoiceID"] in t.invoices:
            self._notify(t, "INVOICE", "UPDATE", t.invoices[out.doc["Invoice"]["InvoiceID"]])
        return out

    def _pay(self, t: Tenant, raw: dict[str, Any], now: datetime) -> Outcome:
        return self._paid(t, payments.create_payment(t, raw, now))

    def _unpay(self, t: Tenant, pay: Doc, raw: dict[str, Any], now: datetime) -> Outcome:
        return self._paid(t, payments.delete_payment(t, pay, raw, now))

    def _create_account(self, t: Tenant, raw: dict[str, Any], now: datetime) -> Outcome:
        problems = Problems()
        code, name = str(raw.get("Code", "")).strip(), str(raw.get("Name", "")).strip()
        acc_type = str(raw.get("Type", "")).upper()
        if not code or len(code) > 10:
            problems.add("Account code must be between 1 and 10 characters.")
        elif t.account_by_code(code) is not None:
            problems.add("Please enter a unique Code.")
        if not name or len(name) > 150:
            problems.add("Account name must be between 1 and 150 characters.")
        elif any(a["Name"].lower() == name.lower() for a in t.accounts.values()):
            problems.add("Please enter a unique Name.")
        if acc_type not in _ACCOUNT_TYPES:
            problems.add(f"Account type '{raw.get('Type')}' is not valid.")
        tax = str(raw.get("TaxType") or "NONE").upper()
        if tax not in t.tax_rates:
            problems.add(f"The TaxType code '{tax}' does not exist or cannot be used for this type of transaction.")
        if problems:
            return Outcome(None, problems)
        acc: Doc = {
            "AccountID": str(uuid.uuid4()),
            "Code": code,
            "Name": name,
            "Status": "ACTIVE",
            "Type": acc_type,
            "TaxType": tax,
            "Class": _CLASS.get(acc_type, "EXPENSE"),
            "Description": str(raw.get("Description", "")),
            "EnablePaymentsToAccount": bool(raw.get("EnablePaymentsToAccount", False)),
            "ShowInExpenseClaims": False,
            "ReportingCode": "",
            "HasAttachments": False,
            "AddToWatchlist": False,
        }
        if acc_type == "BANK":
            acc.update(
                BankAccountType="BANK",
                CurrencyCode=str(raw.get("CurrencyCode") or t.base_currency),
                BankAccountNumber=str(raw.get("BankAccountNumber", "")),
            )
        touch(acc, now, iso=False)
        t.accounts[acc["AccountID"]] = acc
        return Outcome(acc, problems, "CREATE")

    def _save_contact(self, t: Tenant, raw: dict[str, Any], now: datetime, parts: list[str]) -> Outcome:
        problems = Problems()
        cid = str(parts[1] if len(parts) == 2 else raw.get("ContactID") or "").lower()
        existing = t.contacts.get(cid) if cid else None
        if cid and existing is None:
            problems.add("The contact with the specified ContactID could not be found.")
            return Outcome(None, problems)
        name = str(raw.get("Name", existing["Name"] if existing else "")).strip()
        if not name:
            problems.add("The contact name must be specified.")
        clash = t.contact_by_name(name) if name else None
        if clash is not None and clash is not existing:
            problems.add(
                f"The contact name {name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts."
            )
        if problems:
            return Outcome(None, problems)
        allowed = {
            "Name",
            "FirstName",
            "LastName",
            "EmailAddress",
            "ContactNumber",
            "AccountNumber",
            "ContactStatus",
            "TaxNumber",
            "DefaultCurrency",
            "IsSupplier",
            "IsCustomer",
            "Addresses",
            "Phones",
            "CompanyNumber",
        }
        changes = {k: v for k, v in raw.items() if k in allowed and not isinstance(v, Decimal)}
        if existing is None:
            new_id = str(uuid.uuid4())
            doc: Doc = {
                "ContactID": new_id,
                "ContactStatus": "ACTIVE",
                "Addresses": [],
                "Phones": [],
                "ContactGroups": [],
                "ContactPersons": [],
                "IsSupplier": False,
                "IsCustomer": False,
                "HasAttachments": False,
                "HasValidationErrors": False,
                **changes,
                "Name": name,
            }
            touch(doc, now, iso=False)
            t.contacts[new_id] = doc
            self._notify(t, "CONTACT", "CREATE", doc)
            return Outcome(doc, problems, "CREATE")
        existing.update(changes)
        existing["Name"] = name
        touch(existing, now, iso=False)
        self._notify(t, "CONTACT", "UPDATE", existing)
        return Outcome(existing, problems, "UPDATE")


_TAKEBACK_ID = {"CreditNotes": "CreditNoteID", "Payments": "PaymentID", "ManualJournals": "ManualJournalID",
                "Invoices": "InvoiceID"}


def _count_takeback(t: Tenant, request: Request, key: str, raw: dict[str, Any]) -> None:
    """Count a request to void or delete a document (see ``Tenant.takeback_requests``)."""
    if str(raw.get("Status", "")).upper() not in ("VOIDED", "DELETED"):
        return
    last = request.path.rstrip("/").split("/")[-1]
    ident = str(raw.get(_TAKEBACK_ID.get(key, ""), "") or (last if last.lower() != key.lower() else ""))
    if ident:
        t.takeback_requests[ident.lower()] = t.takeback_requests.get(ident.lower(), 0) + 1
