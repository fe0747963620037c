"""Transactions: validation and server-side computation for CreditMemo, RefundReceipt, JournalEntry,
Payment and SalesReceipt (``receipts``).

The service, not the client, computes TotalAmt, TxnTaxDetail, Balance/RemainingCredit,
HomeTotalAmt and the default ExchangeRate; clients' values for those are overwritten. Tax: a US
company (AST-like) taxes lines coded ``TAX`` at the combined rate of ``TxnTaxCodeRef`` (or one
derived from the customer's address when absent); a non-US company taxes each line by its own
``TaxCodeRef``. With ``TaxInclusive`` the emulator treats line ``Amount`` as tax-inclusive
(UNCONFIRMED against the real service; the app posts ``TaxExcluded``).
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from desktop.sandbox.qbo import purchases, receipts
from desktop.sandbox.qbo.refs import business, optional, required, resolve
from desktop.sandbox.qbo.store import Company, Record
from desktop.sandbox.qbo.util import TWO, QboFault, money

SALES_DOCS = ("CreditMemo", "RefundReceipt", receipts.ENTITY)
READ_ONLY = ("TotalAmt", "HomeTotalAmt", "Balance", "HomeBalance", "RemainingCredit", "UnappliedAmt")
TXN_LABEL = {
    "CreditMemo": "Credit Memo",
    "RefundReceipt": "Refund",
    "JournalEntry": "Journal Entry",
    "Payment": "Payment",
    "VendorCredit": "Vendor Credit",
    receipts.ENTITY: receipts.LABEL,
}


def _round(d: Decimal) -> Decimal:
    return d.quantize(TWO, rounding=ROUND_HALF_UP)


def build(
    c: Company, entity: str, body: dict[str, Any], today: date, existing: Record | None
) -> dict[str, Any]:
    """Validate ``body`` (a full object) and return the object to store, computed fields filled."""
    obj = copy.deepcopy(body)
    if entity == "Payment":
        obj["_total"] = obj.get("TotalAmt")
    for key in READ_ONLY:
        obj.pop(key, None)
    _common(c, entity, obj, today, existing)
    if entity in SALES_DOCS:
        _sales(c, entity, obj)
    elif entity == "JournalEntry":
        _journal(c, obj)
    elif entity == "Payment":
        _payment(c, obj, existing)
    elif entity == "VendorCredit":
        purchases.vendor_credit(c, obj)
    rate = obj.get("ExchangeRate")
    if obj["CurrencyRef"]["value"] != c.home_currency and isinstance(rate, Decimal):
        obj["HomeTotalAmt"] = _round(obj["TotalAmt"] * rate)
    return obj


def _common(c: Company, entity: str, obj: dict[str, Any], today: date, existing: Record | None) -> None:
    number = obj.get("DocNumber")
    if number is not None:
        if not isinstance(number, str):
            number = obj["DocNumber"] = str(number)
        if len(number) > 21:
            raise QboFault(
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"String length specified does not match the supported length. "
                f"Min:0 Max:21 supported. Supplied length:{len(number)}",
                "DocNumber",
            )
    note = obj.get("PrivateNote")
    if isinstance(note, str) and len(note) > 4000:
        raise QboFault(
            "2050",
            "String length is either shorter or longer than supported by specification",
            "String length specified does not match the supported length. Min:0 Max:4000 "
            f"supported. Supplied length:{len(note)}",
            "PrivateNote",
        )
    text = obj.get("TxnDate")
    try:
        txn_date = date.fromisoformat(text) if text else today
    except (TypeError, ValueError):
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:Can not deserialize value of type java.util.Date from String "
            f'"{text}" specified is unsupported or invalid',
            "TxnDate",
        ) from None
    obj["TxnDate"] = txn_date.isoformat()
    closed = c.book_close_date()
    if closed is not None and txn_date <= closed:
        raise QboFault(
            "6210",
            "Account Period Closed, cannot update through Services API",
            f"The account period has closed and the books are locked through "
            f"{closed.isoformat()}; TxnDate {txn_date.isoformat()} is on or before that date.",
            "TxnDate",
        )
    cur = obj.get("CurrencyRef") or {"value": c.home_currency}
    code = str(cur.get("value", c.home_currency)).upper()
    if not c.currency_enabled(code):
        raise business(
            f"The currency {code} is not enabled for this company. Add it to the currency list first.",
            "CurrencyRef",
        )
    obj["CurrencyRef"] = {"value": code, "name": _currency_name(c, code)}
    if code == c.home_currency:
        obj["ExchangeRate"] = Decimal(1)
    else:
        given = obj.get("ExchangeRate")
        if given is None or (isinstance(given, Decimal) and given <= 0):
            rate = c.rate(code, txn_date)
            if rate is None:
                raise business(f"No exchange rate for {code} on {txn_date.isoformat()}", "ExchangeRate")
            obj["ExchangeRate"] = rate
        elif not isinstance(given, Decimal):
            obj["ExchangeRate"] = Decimal(str(given))
    warn = {"JournalEntry": "WarnDuplicateJournalNumber", "VendorCredit": "WarnDuplicateBillNumber"}.get(
        entity, "WarnDuplicateDocNumber")
    if isinstance(number, str) and number and c.preference(warn) == "true":
        for other in c.with_docnumber(entity, number):
            if existing is None or other.id != existing.id:
                raise QboFault(
                    "6140",
                    "Duplicate Document Number Error",
                    f"Duplicate Document Number Error : You must specify a different number. "
                    f"This number has already been used. DocNumber={number} is assigned to "
                    f"TxnType={TXN_LABEL[entity]} with TxnId={other.id}",
                    "DocNumber",
                )
    optional(c, "Department", obj, "DepartmentRef", "DepartmentRef")
    if "ClassRef" in obj:
        optional(c, "Class", obj, "ClassRef", "ClassRef")


def _currency_name(c: Company, code: str) -> str:
    from desktop.sandbox.qbo.seed import CURRENCY_NAMES

    return CURRENCY_NAMES.get(code, code)


def _customer(c: Company, obj: dict[str, Any], element: str = "CustomerRef") -> Record:
    cust = resolve(c, "Customer", obj.get("CustomerRef"), element, name_key="DisplayName")
    cur = cust.obj.get("CurrencyRef", {}).get("value", c.home_currency)
    if cur != obj["CurrencyRef"]["value"]:
        raise business(
            f"The transaction currency {obj['CurrencyRef']['value']} must match the "
            f"customer's currency {cur}.",
            "CurrencyRef",
        )
    return cust


def _lines(obj: dict[str, Any]) -> list[dict[str, Any]]:
    lines = obj.get("Line")
    if not isinstance(lines, list) or not lines:
        raise required("Line")
    return lines


def _amount(line: dict[str, Any], element: str = "Line.Amount") -> Decimal:
    if line.get("Amount") is None:
        raise required(element)
    try:
        return money(line["Amount"])
    except (ValueError, ArithmeticError):
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:Amount specified is unsupported or invalid: {line['Amount']!r}",
            element,
        ) from None


def _sales(c: Company, entity: str, obj: dict[str, Any]) -> None:
    if entity == "CreditMemo" or "CustomerRef" in obj:
        _customer(c, obj)
    if entity == "RefundReceipt":
        acct = resolve(c, "Account", obj.get("DepositToAccountRef"), "DepositToAccountRef")
        if acct.obj.get("AccountType") not in ("Bank", "Other Current Asset"):
            raise business(
                "The account in DepositToAccountRef must be a Bank or Other Current Asset account.",
                "DepositToAccountRef",
            )
        acct_cur = acct.obj.get("CurrencyRef", {}).get("value", c.home_currency)
        if acct_cur != obj["CurrencyRef"]["value"]:
            raise business(
                f"The account currency {acct_cur} must match the transaction currency.", "DepositToAccountRef"
            )
        optional(c, "PaymentMethod", obj, "PaymentMethodRef", "PaymentMethodRef")
    elif entity == receipts.ENTITY:
        receipts.deposit(c, obj)
    us = c.country == "US"
    calc = obj.get("GlobalTaxCalculation") or ("NotApplicable" if us else "TaxExcluded")
    if us:
        obj.pop("GlobalTaxCalculation", None)
    elif calc not in ("TaxExcluded", "TaxInclusive", "NotApplicable"):
        raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {calc}", "GlobalTaxCalculation")
    else:
        obj["GlobalTaxCalculation"] = calc
    kept: list[dict[str, Any]] = []
    taxable: dict[str, Decimal] = {}  # tax code id → net amount (non-US) / "TAX" → base (US)
    subtotal = Decimal("0.00")
    for line in _lines(obj):
        kind = line.get("DetailType")
        if kind in ("SubTotalLineDetail", "TaxLineDetail"):
            continue
        if kind == "DescriptionOnly":
            line.pop("Amount", None)
            kept.append(line)
            continue
        if kind != "SalesItemLineDetail":
            raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Line.DetailType")
        amount = _amount(line)
        detail = line.setdefault("SalesItemLineDetail", {})
        item = resolve(c, "Item", detail.get("ItemRef"), "Line.SalesItemLineDetail.ItemRef")
        if not item.obj.get("IncomeAccountRef"):
            raise business(
                f"The item {item.obj.get('Name')} has no income account; a sales line needs an "
                "item with IncomeAccountRef.",
                "Line.SalesItemLineDetail.ItemRef",
            )
        qty, price = detail.get("Qty"), detail.get("UnitPrice")
        if qty is not None and price is not None and _round(Decimal(qty) * Decimal(price)) != amount:
            raise QboFault(
                "6070",
                "Amount is not equal to UnitPrice * Qty",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                "Line.Amount",
            )
        if "ClassRef" in detail:
            optional(c, "Class", detail, "ClassRef", "Line.SalesItemLineDetail.ClassRef")
        code_ref = detail.get("TaxCodeRef")
        if us:
            code = str((code_ref or {}).get("value") or ("TAX" if item.obj.get("Taxable") else "NON"))
            if code not in ("TAX", "NON"):
                raise QboFault(
                    "2500",
                    "Invalid Reference Id",
                    f"Invalid Reference Id : TaxCode {code}: a US company's lines use TAX or NON",
                    "Line.SalesItemLineDetail.TaxCodeRef",
                )
            detail["TaxCodeRef"] = {"value": code}
            if code == "TAX":
                taxable["TAX"] = taxable.get("TAX", Decimal(0)) + amount
        elif calc != "NotApplicable":
            if not code_ref:
                raise business(
                    "Make sure all your transactions have a GST/HST rate before you save.",
                    "Line.SalesItemLineDetail.TaxCodeRef",
                )
            code_rec = resolve(c, "TaxCode", code_ref, "Line.SalesItemLineDetail.TaxCodeRef")
            taxable[code_rec.id] = taxable.get(code_rec.id, Decimal(0)) + amount
        line["Amount"] = amount
        subtotal += amount
        kept.append(line)
    for i, line in enumerate(kept, start=1):
        line["Id"] = str(i)
        line["LineNum"] = i
    kept.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    obj["Line"] = kept
    tax_lines, total_tax = _tax(c, obj, taxable, calc, us)
    obj["TxnTaxDetail"] = {k: v for k, v in (obj.get("TxnTaxDetail") or {}).items() if k == "TxnTaxCodeRef"}
    if us and tax_lines:
        obj["TxnTaxDetail"]["TxnTaxCodeRef"] = {"value": tax_lines[0][0]}
    obj["TxnTaxDetail"]["TotalTax"] = total_tax
    obj["TxnTaxDetail"]["TaxLine"] = [t[1] for t in tax_lines]
    total = subtotal if calc == "TaxInclusive" else subtotal + total_tax
    if total < 0:
        raise business("You must set a transaction amount that is zero or greater.", "TotalAmt")
    obj["TotalAmt"] = total
    if entity == "CreditMemo":
        obj["RemainingCredit"] = total
        obj["Balance"] = total
    else:
        obj["Balance"] = Decimal("0.00")
    obj.setdefault("PrintStatus", "NotSet")
    obj.setdefault("EmailStatus", "NotSet")


def _tax(
    c: Company, obj: dict[str, Any], taxable: dict[str, Decimal], calc: str, us: bool
) -> tuple[list[tuple[str, dict[str, Any]]], Decimal]:
    """Tax lines (code id, TaxLine) and the total; grouped by rate as QBO's TxnTaxDetail shows them."""
    by_rate: dict[str, Decimal] = {}
    code_of_rate: dict[str, str] = {}
    if us:
        base = taxable.get("TAX", Decimal(0))
        given = (obj.get("TxnTaxDetail") or {}).get("TxnTaxCodeRef")
        code_id = _us_code(c, obj, given)
        if code_id is None:
            return [], Decimal("0.00")
        code = resolve(c, "TaxCode", {"value": code_id}, "TxnTaxDetail.TxnTaxCodeRef")
        for detail in code.obj.get("SalesTaxRateList", {}).get("TaxRateDetail", []):
            rid = detail["TaxRateRef"]["value"]
            by_rate[rid] = by_rate.get(rid, Decimal(0)) + base
            code_of_rate[rid] = code.id
    else:
        if calc == "NotApplicable":
            return [], Decimal("0.00")
        for code_id, net in taxable.items():
            line_code = c.get("TaxCode", code_id)
            assert line_code is not None
            for detail in line_code.obj.get("SalesTaxRateList", {}).get("TaxRateDetail", []):
                rid = detail["TaxRateRef"]["value"]
                by_rate[rid] = by_rate.get(rid, Decimal(0)) + net
                code_of_rate[rid] = line_code.id
    lines: list[tuple[str, dict[str, Any]]] = []
    total = Decimal("0.00")
    for rid, net in by_rate.items():
        rate_rec = c.get("TaxRate", rid)
        assert rate_rec is not None
        pct = Decimal(rate_rec.obj["RateValue"])
        if calc == "TaxInclusive":
            combined = sum(
                (
                    Decimal(c.get("TaxRate", r).obj["RateValue"])  # type: ignore[union-attr]
                    for r in by_rate
                ),
                Decimal(0),
            )
            net = _round(net * 100 / (100 + combined))
        amount = _round(net * pct / 100)
        total += amount
        lines.append(
            (
                code_of_rate[rid],
                {
                    "Amount": amount,
                    "DetailType": "TaxLineDetail",
                    "TaxLineDetail": {
                        "TaxRateRef": {"value": rid},
                        "PercentBased": True,
                        "TaxPercent": pct,
                        "NetAmountTaxable": _round(net),
                    },
                },
            )
        )
    return lines, total


def _us_code(c: Company, obj: dict[str, Any], given: Any) -> str | None:
    """The combined sales-tax code: the one given, else one derived from the customer's address (AST)."""
    if isinstance(given, dict) and given.get("value"):
        return str(given["value"])
    cust = c.get("Customer", str((obj.get("CustomerRef") or {}).get("value", "")))
    if cust is None:
        return None
    addr = cust.obj.get("BillAddr") or {}
    region, city = addr.get("CountrySubDivisionCode"), addr.get("City")
    name = {
        "CA": "Los Angeles County, CA" if city == "Los Angeles" else "California",
        "NY": "New York City, NY",
        "WA": "Seattle, WA",
    }.get(str(region))
    return c.with_name("TaxCode", name) if name else None


def _journal(c: Company, obj: dict[str, Any]) -> None:
    debit = credit = Decimal("0.00")
    for i, line in enumerate(_lines(obj), start=1):
        if line.get("DetailType") != "JournalEntryLineDetail":
            raise QboFault(
                "2170",
                "Invalid Enumeration",
                f"Invalid Enumeration : {line.get('DetailType')}",
                "Line.DetailType",
            )
        amount = _amount(line)
        if amount < 0:
            raise business(
                "Journal entry line amounts must be positive; use PostingType for direction.", "Line.Amount"
            )
        detail = line.get("JournalEntryLineDetail")
        if not isinstance(detail, dict):
            raise required("Line.JournalEntryLineDetail")
        posting = detail.get("PostingType")
        if posting not in ("Debit", "Credit"):
            if posting is None:
                raise required("Line.JournalEntryLineDetail.PostingType")
            raise QboFault(
                "2170",
                "Invalid Enumeration",
                f"Invalid Enumeration : {posting}",
                "Line.JournalEntryLineDetail.PostingType",
            )
        acct = resolve(c, "Account", detail.get("AccountRef"), "Line.JournalEntryLineDetail.AccountRef")
        entity = detail.get("Entity")
        if acct.obj.get("AccountType") == "Accounts Receivable" and (
            not isinstance(entity, dict) or entity.get("Type") != "Customer"
        ):
            raise business(
                "When you use Accounts Receivable, you must choose a customer in the Name field.",
                "Line.JournalEntryLineDetail.Entity",
            )
        if isinstance(entity, dict) and entity.get("Type") == "Customer":
            resolve(
                c,
                "Customer",
                entity.get("EntityRef"),
                "Line.JournalEntryLineDetail.Entity.EntityRef",
                name_key="DisplayName",
            )
        for key, ent in (("ClassRef", "Class"), ("DepartmentRef", "Department")):
            if key in detail:
                optional(c, ent, detail, key, f"Line.JournalEntryLineDetail.{key}")
        line["Amount"] = amount
        line["Id"] = str(i - 1)
        if posting == "Debit":
            debit += amount
        else:
            credit += amount
    if debit != credit:
        raise business(
            f"Transaction must be balanced: total debits ({debit}) must equal total credits ({credit}).",
            "Line",
        )
    obj["TotalAmt"] = debit
    obj.setdefault("Adjustment", False)


def _payment(c: Company, obj: dict[str, Any], existing: Record | None) -> None:
    _customer(c, obj)
    total_raw = obj.pop("_total", None)
    if total_raw is None:
        raise required("TotalAmt")
    total = money(total_raw)
    if total < 0:
        raise business("You must set a transaction amount that is zero or greater.", "TotalAmt")
    if "DepositToAccountRef" in obj:
        acct = resolve(c, "Account", obj["DepositToAccountRef"], "DepositToAccountRef")
        if acct.obj.get("AccountType") not in ("Bank", "Other Current Asset"):
            raise business(
                "Payments can be deposited only to Bank or Other Current Asset accounts.",
                "DepositToAccountRef",
            )
    else:
        und = c.with_name("Account", "Undeposited Funds")
        obj["DepositToAccountRef"] = {"value": und, "name": "Undeposited Funds"}
    optional(c, "PaymentMethod", obj, "PaymentMethodRef", "PaymentMethodRef")
    applied_credit = applied_invoice = Decimal("0.00")
    for line in obj.get("Line") or []:
        amount = _amount(line)
        links = line.get("LinkedTxn") or []
        if not links:
            raise required("Line.LinkedTxn")
        for link in links:
            kind, tid = link.get("TxnType"), str(link.get("TxnId", ""))
            if kind != "CreditMemo":
                raise QboFault(
                    "2500",
                    "Invalid Reference Id",
                    f"Invalid Reference Id : {kind} {tid} not found",
                    "Line.LinkedTxn",
                )
            memo = c.get("CreditMemo", tid)
            if memo is None:
                raise QboFault(
                    "2500",
                    "Invalid Reference Id",
                    f"Invalid Reference Id : CreditMemo {tid} not found",
                    "Line.LinkedTxn",
                )
            if memo.obj["CustomerRef"]["value"] != obj["CustomerRef"]["value"]:
                raise business("The credit memo belongs to another customer.", "Line.LinkedTxn")
            available = credit_remaining(c, memo, exclude_payment=existing.id if existing else None)
            if amount > available:
                raise business(
                    f"The amount applied ({amount}) exceeds the credit memo's remaining credit "
                    f"({available}).",
                    "Line.Amount",
                )
            applied_credit += amount
        line["Amount"] = amount
    unapplied = total - (applied_invoice - applied_credit)
    if unapplied < 0:
        raise business("The payment amount is less than the amount applied to transactions.", "TotalAmt")
    obj["TotalAmt"] = total
    obj["UnappliedAmt"] = unapplied
    obj.setdefault("ProcessPayment", False)


def credit_remaining(c: Company, memo: Record, exclude_payment: str | None = None) -> Decimal:
    """A credit memo's TotalAmt less what active payments apply of it."""
    used = Decimal("0.00")
    for pay in c.all("Payment"):
        if pay.id == exclude_payment or pay.status != "active":
            continue
        for line in pay.obj.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "CreditMemo" and str(link.get("TxnId")) == memo.id:
                    used += line["Amount"]
    return memo.obj["TotalAmt"] - used


def voided(entity: str, obj: dict[str, Any]) -> dict[str, Any]:
    """What a void leaves: the document with every amount zeroed and a 'Voided' memo."""
    out = copy.deepcopy(obj)
    note = out.get("PrivateNote") or ""
    out["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    zero = Decimal("0.00")
    for line in out.get("Line") or []:
        line["Amount"] = zero
        for key in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
            if key in line and "Qty" in line[key]:
                line[key]["Qty"] = Decimal(0)
    if "TxnTaxDetail" in out:
        out["TxnTaxDetail"]["TotalTax"] = zero
        out["TxnTaxDetail"]["TaxLine"] = []
    for key in ("TotalAmt", "Balance", "RemainingCredit", "UnappliedAmt", "HomeTotalAmt"):
        if key in out:
            out[key] = zero
    return out
