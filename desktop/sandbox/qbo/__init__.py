"""QuickBooks Online v3 emulator: OAuth 2.0, the accounting API, query, batch, CDC and webhooks.

Modules: ``emulator`` (routing, OAuth endpoints, envelopes), ``api`` (``/v3/company/{realm}``:
bearer check, throttles, requestid replay), ``oauth``, ``store`` (indexed in-memory companies),
``query_grammar`` / ``query`` (parse / evaluate), ``txn`` / ``purchases`` / ``names`` / ``refs``
(validation and computed fields), ``stock`` (inventory quantities and their postings), ``ops``
(CRUD, delete, void), ``batch_cdc``, ``webhooks``, ``control`` (ledger view and tamper), ``seed``,
``util``.

Choices where the real service's behaviour is UNCONFIRMED (see API_FACTS.md), made strict so an
app that copes here copes there:

* Refresh tokens rotate on every refresh; the previous value dies once the new one is used.
* 429 answers carry ``Retry-After: 60``; the real service may not, so clients must not rely on it.
* The duplicate-number check is the company preference ``OtherPrefs.NameValue``
  ``WarnDuplicateDocNumber`` (sales forms, 6140; ON for ACME-US) and ``WarnDuplicateJournalNumber``
  (journal entries; OFF, as journal numbers may repeat in QBO).
* Void is allowed on CreditMemo, RefundReceipt, SalesReceipt and Payment (amounts zeroed, memo
  prefixed "Voided"); JournalEntry and VendorCredit answer 500 Unsupported Operation (the control
  API's tamper voids any of them). Sales receipts (``receipts``) deposit to Undeposited Funds when
  no account is named.
* Inventory (``stock``): returns of an Inventory item restock it at ``PurchaseCost`` (QuickBooks uses
  average cost), vendor credits send goods back; see docs/inventory-emulation.md.
* CDC answers at most 1000 objects, oldest changes first; ask again from a later ``changedSince``.
* ``TaxInclusive`` treats line ``Amount`` as gross.
"""

from desktop.sandbox.qbo.emulator import QboEmulator

__all__ = ["QboEmulator"]
