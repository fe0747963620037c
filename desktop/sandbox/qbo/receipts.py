"""Sales receipts: a sale paid at once, the money deposited to an asset account (API_FACTS §3).

A ``SalesReceipt`` is a ``SalesTransaction`` like a credit memo or a refund receipt
(qbo/Finance.xsd ``SalesReceipt``): lines through items, tax computed by the service, ``TotalAmt``
never negative, ``Balance`` 0 (paid). What is particular to it is where the money goes:
``DepositToAccountRef`` — a Bank or Other Current Asset account in the transaction's currency —
or, when absent, Undeposited Funds, as QuickBooks does. Voiding zeroes it like the other sales forms.

UNCONFIRMED against the real service (the emulator accepts them, as QuickBooks' screens do):
negative lines on a sales receipt whose total is zero or more (the app posts a dearer exchange's
returned goods that way), and the exact wording of the refusals below.
"""

from __future__ import annotations

from typing import Any

from desktop.sandbox.qbo.refs import business, optional, resolve
from desktop.sandbox.qbo.store import Company

ENTITY = "SalesReceipt"
LABEL = "Sales Receipt"
_ASSET = ("Bank", "Other Current Asset")


def deposit(c: Company, obj: dict[str, Any]) -> None:
    """Check (or default) where a sales receipt's money goes, and its payment method."""
    ref = obj.get("DepositToAccountRef")
    if not ref:
        und = c.with_name("Account", "Undeposited Funds")
        if und is None:
            raise business("A sales receipt needs a DepositToAccountRef in this company.", "DepositToAccountRef")
        obj["DepositToAccountRef"] = {"value": und, "name": "Undeposited Funds"}
        return
    acct = resolve(c, "Account", ref, "DepositToAccountRef")
    if acct.obj.get("AccountType") not in _ASSET:
        raise business("The account in DepositToAccountRef must be a Bank or Other Current Asset account.",
                       "DepositToAccountRef")
    acct_cur = acct.obj.get("CurrencyRef", {}).get("value", c.home_currency)
    if acct_cur != obj["CurrencyRef"]["value"]:  # strict, as for refund receipts
        raise business(f"The account currency {acct_cur} must match the transaction currency.",
                       "DepositToAccountRef")
    optional(c, "PaymentMethod", obj, "PaymentMethodRef", "PaymentMethodRef")
