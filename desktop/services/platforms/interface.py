"""The one interface everything reaches a ledger through: :class:`LedgerPlatform` (DESIGN.md §8).

Two halves, one per platform each (:mod:`.qbo_platform`, :mod:`.xero_platform`):

- :class:`PlatformProfile` — what is true of a platform whatever the company: its names, its
  published limits, its account types and the shape of its payloads. No network; services that
  only need a fact (pre-flight, mapping validation, reconciliation's comparison) ask this, through
  :func:`desktop.services.platforms.registry.platform_for`, instead of asking which platform it is.
- :class:`LedgerPlatform` — one connected company: reference data, reading documents (by key,
  by id, by number, by date range), the change feed, batch posting, voiding/deleting and exchange
  rates. Built by :meth:`PlatformProfile.connect` on a connection's
  :class:`~desktop.services.platforms.http.LedgerHttp`.

Offset paging is written once, in :func:`~desktop.services.platforms.shapes.paginate` (re-exported
here with the other shapes the interface speaks: :class:`RemoteDoc`, :class:`PostRequest`,
:class:`SendResult`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from desktop.services.core.domain import Component
from desktop.services.platforms.base import CompanyInfo, Progress, RefKind, RefRecord
from desktop.services.platforms.import_csv import ImportDoc, ImportSheet
from desktop.services.platforms.shapes import Page, PostRequest, RemoteDoc, SendResult, paginate
from desktop.services.platforms.webhooks import Notification

if TYPE_CHECKING:
    from desktop.services.core.errors import AppError
    from desktop.services.platforms.http import LedgerHttp
__all__ = ["ChangeFeed", "DocView", "KeyQuery", "LedgerPlatform", "Page", "PlatformProfile", "PostRequest", "RemoteDoc",
           "SendResult", "VendorCreditDraft", "VendorCreditLine", "paginate"]


# --- the platform-neutral view of a ledger document --------------------------------------------

@dataclass(frozen=True)
class DocView:
    """One ledger document as pull and reconciliation compare it, the same shape for both platforms."""

    doc_type: str
    remote_id: str
    status: str                       # active | voided | deleted | paid
    total: Decimal | None = None
    tax: Decimal | None = None
    txn_date: date | None = None
    currency: str | None = None
    lines: tuple[Decimal, ...] | None = None
    sync_token: str | None = None
    updated_at: datetime | None = None
    number: str | None = None
    our_key: str | None = None
    pays: tuple[tuple[str, str], ...] = ()       # (doc type, remote id) this payment/refund settles
    payment_ids: tuple[str, ...] = ()            # Xero: payments listed on a credit note
    # What only reconciliation reads (see :mod:`desktop.services.reconcile.ledger_read`):
    rate: Decimal | None = None                  # the exchange rate (platform convention), None: home currency
    accounts: tuple[tuple[str, Decimal], ...] = ()  # (account, signed amount) per line, where known
    #: (item, quantity) per item the lines name (QBO ``ItemRef`` id / Xero ``ItemCode``), summed over its
    #: lines; a quantity of None: a line names the item without one. None: the lines were not read.
    items: tuple[tuple[str, Decimal | None], ...] | None = None

    @property
    def live(self) -> bool:
        """Still in effect in the ledger (not voided or deleted)."""
        return self.status in ("active", "paid")

    def values(self) -> dict[str, Any]:
        """The comparable values, JSON-safe (for events and the RMS)."""
        return {"total": text(self.total), "tax": text(self.tax), "currency": self.currency,
                "date": self.txn_date.isoformat() if self.txn_date else None,
                "lines": [text(x) for x in self.lines] if self.lines is not None else None,
                "status": self.status, "sync_token": self.sync_token}


def text(value: Decimal | None) -> str | None:
    return format(value, "f") if value is not None else None


def dec(value: Any) -> Decimal | None:
    """A ledger's number (already Decimal from the JSON, or text) as Decimal; None if it is none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return None
    return None


def amounts(lines: Any, key: str, detail_types: Iterable[str] | None = None) -> tuple[Decimal, ...] | None:
    """The sorted line amounts under ``key`` (None: no lines, or one the ledger left to compute)."""
    if not isinstance(lines, list):
        return None
    wanted = set(detail_types) if detail_types is not None else None
    out: list[Decimal] = []
    for line in lines:
        if not isinstance(line, dict) or (wanted is not None and line.get("DetailType") not in wanted):
            continue
        amount = dec(line.get(key))
        if amount is None:
            return None  # a line without an amount (the ledger computes it): lines are not comparable
        out.append(amount)
    return tuple(sorted(out)) if out else None


def item_quantities(lines: Any, item_of: Callable[[Mapping[str, Any]], str | None],
                    quantity_of: Callable[[Mapping[str, Any]], Any]) -> tuple[tuple[str, Decimal | None], ...] | None:
    """(item, quantity) per item named by ``lines`` (``item_of`` / ``quantity_of`` read a line's), summed;
    an item with a line that gives no readable quantity is (item, None): its quantity is not known.
    None when there are no lines to read (a summary or stub without them): nothing is known."""
    if not isinstance(lines, list):
        return None
    out: dict[str, Decimal | None] = {}
    for line in lines:
        item = item_of(line) if isinstance(line, Mapping) else None
        if not item:
            continue
        qty = dec(quantity_of(line))
        have = out.get(item, Decimal(0))
        out[item] = None if qty is None or have is None else have + qty
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class VendorCreditLine:
    """One line of goods (or an expense) a vendor credits back, platform-neutral.

    With an item: ``item_id`` (QBO ``ItemRef``) and ``item_code`` (Xero ``ItemCode``), ``quantity`` and
    ``unit_cost`` — a tracked item's line lowers its quantity on hand and credits its inventory asset
    account. Without one: ``account_id`` (the remote account id) takes the credit. ``amount`` is the
    line's net amount in the document's currency.
    """

    amount: Decimal
    description: str = ""
    item_id: str | None = None
    item_code: str | None = None
    quantity: Decimal | None = None
    unit_cost: Decimal | None = None
    account_id: str | None = None
    tax_code: str | None = None


@dataclass(frozen=True)
class VendorCreditDraft:
    """A vendor credit (QBO ``VendorCredit``, Xero ``ACCPAYCREDIT`` credit note) to post under ``key``.

    ``key`` rides where each platform lets us find it again (QBO ``PrivateNote``; Xero's
    ``CreditNoteNumber``, as Xero keeps ``Reference`` for customer credit notes only); ``number`` is
    QBO's ``DocNumber`` (Xero: ignored, the key is the number).
    """

    key: str
    vendor_id: str
    day: date
    currency: str
    lines: tuple[VendorCreditLine, ...]
    number: str | None = None
    memo: str = ""


@dataclass(frozen=True)
class KeyQuery:
    """A document to find by the idempotency key we wrote into it; ``payload`` is what we sent."""

    key: str
    doc_type: str
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ChangeFeed:
    """What the change feed returned since a mark, and the next mark to save.

    ``records``: each of ``docs`` as the ledger answered it (same order), for a reader keeping its
    own copy (reconciliation's mirror). ``complete`` is False when the feed could not hand over
    everything since the mark (more changes in one instant than one answer holds): whoever keeps a
    copy must read in full again.
    """

    docs: list[DocView]
    cursor: str | None
    records: list[RemoteDoc] = field(default_factory=list)
    complete: bool = True


# --- what is true of a platform ----------------------------------------------------------------

class PlatformProfile(ABC):
    """A platform's facts and payload shapes; one instance per platform (see the registry)."""

    key: ClassVar[str]                       # the stored value: "qbo" | "xero"
    display_name: ClassVar[str]              # "QuickBooks Online"
    short_name: ClassVar[str]                # "QuickBooks", in messages
    #: Published limits (API_FACTS §5, §9): requests a minute, concurrent requests.
    rate_limits: ClassVar[tuple[int, int]]
    #: A limit over every connection of the app together (calls a minute), None if none is published.
    app_per_minute: ClassVar[int | None] = None
    #: Refresh the access token this long before it expires (None: only when it is refused).
    token_grace: ClassVar[timedelta | None] = None
    #: The company is picked after sign-in from the grant's tenants (Xero), not on the consent page.
    picks_tenant_after_sign_in: ClassVar[bool] = False
    #: How the sandbox's ``info`` lists this platform's companies: (list name, id field).
    sandbox_listing: ClassVar[tuple[str, str]]
    #: Account types a refund may be paid from (pre-flight).
    refund_bank_types: ClassVar[tuple[str, ...]]
    #: The document types we post that move money through the mapped refund account (pre-flight checks
    #: that account's type and currency): QBO's refund and sales receipts, Xero's payments.
    bank_doc_types: ClassVar[frozenset[str]] = frozenset()
    #: The document type of a payment into or out of an account ("" where we post none).
    payment_doc_type: ClassVar[str] = ""
    #: An account flag that lets another type take payments too (Xero's EnablePaymentsToAccount).
    payments_flag: ClassVar[str | None] = None
    #: A foreign-currency document's bank account may be kept in the home currency.
    home_currency_bank_ok: ClassVar[bool] = False
    #: Account labels show the code ("200 Sales") — the platform's own habit.
    label_with_code: ClassVar[bool] = False
    #: The word the platform uses for an account that can no longer be used.
    inactive_word: ClassVar[str] = "inactive"
    #: What a tax mapping is called on this platform ("code" / "rate").
    tax_word: ClassVar[str] = "code"
    #: Sales lines go through items, each booking to one income account (QBO).
    items_book_to_accounts: ClassVar[bool] = False
    #: Tracking is options under categories, and at most this many categories per line (None: no cap).
    tracking_in_categories: ClassVar[bool] = False
    max_tracking_categories: ClassVar[int | None] = None
    #: System accounts transactions may not post to directly are refused by mapping validation.
    refuses_system_accounts: ClassVar[bool] = False
    #: Account types by the words validation's messages show (the platform's codes → words; title case).
    account_type_words: ClassVar[Mapping[str, str]] = {}
    #: Customers and items a document needs are looked up and created on demand while posting.
    creates_references: ClassVar[bool] = False
    #: A request creates documents of one type only (Xero's collections).
    one_type_per_request: ClassVar[bool] = False
    #: How far back the change feed reaches (QBO CDC: 30 days); None: no limit.
    change_window: ClassVar[timedelta | None] = None
    #: The platform publishes exchange rates (QBO's ``exchangerate``); Xero's API has none.
    publishes_rates: ClassVar[bool] = False
    #: A customer trades in one currency only (QBO): a return in another needs another customer.
    customer_single_currency: ClassVar[bool] = False
    #: The longest document number the platform accepts (None: no limit we enforce).
    doc_number_max: ClassVar[int | None] = None
    #: Account types a mapping rule for each component may target (validation, pre-flight). The
    #: merchandise account is contra-revenue (Sales Returns and Allowances), so it has an income type.
    allowed_account_types: ClassVar[Mapping[Component, tuple[str, ...]]]
    #: How the Mappings page heads each account type (the platform's codes → sentence-case words;
    #: empty where the types are words already).
    account_type_headings: ClassVar[Mapping[str, str]] = {}
    #: Flat tracking kinds (no categories): (kind, group heading, one record's word), in display order.
    tracking_groups: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    #: Brand-neutral monogram (we ship no third-party logos): its initials and colour.
    monogram: ClassVar[str]
    brand_colour: ClassVar[str]
    #: One line on the Connections page saying what we post there.
    tagline: ClassVar[str]
    #: The keyring name of the platform's webhook secret (from its developer portal).
    webhook_key_name: ClassVar[str]
    #: What the platform meters and how much a tier allows (API_FACTS §1, §9): the allowance's
    #: period ("month" | "day"), its default size, and whether writes count against it too.
    #: Defaults only: the ``usage.allowance`` setting overrides the size (global or per organization).
    metered_period: ClassVar[str]
    metered_allowance: ClassVar[int]
    metered_writes: ClassVar[bool] = False
    #: What a metered request is called in the usage meter ("reads" / "calls").
    metered_word: ClassVar[str]
    #: The request header carrying a webhook delivery's signature.
    webhook_signature_header: ClassVar[str]
    #: The status a delivery with a missing or wrong signature is answered with.
    webhook_refusal_status: ClassVar[int]

    def label(self, code: str | None, name: str) -> str:
        """An account's label as the platform's users know it."""
        return f"{code} {name}" if code and self.label_with_code else name

    @abstractmethod
    def connect(self, http: LedgerHttp, api_base_url: str, company_id: str) -> LedgerPlatform:
        """The platform for one company, reached through ``http``."""

    @abstractmethod
    def entity_of(self, doc_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The entity inside a payload we send (Xero wraps it in a one-element collection)."""

    @abstractmethod
    def with_date(self, doc_type: str, payload: Mapping[str, Any], day: date) -> dict[str, Any]:
        """A copy of ``payload`` dated ``day``."""

    @abstractmethod
    def view(self, doc_type: str, raw: Mapping[str, Any]) -> DocView:
        """A document as the ledger returned it (or a change-feed stub), as pull compares it."""

    @abstractmethod
    def sent_view(self, doc_type: str, payload: Mapping[str, Any], remote_id: str) -> DocView:
        """What we sent, as :meth:`view` would read it (tax only where the payload pinned it)."""

    @abstractmethod
    def sent_tax(self, doc_type: str, payload: Mapping[str, Any] | None, total: Decimal | None) -> Decimal | None:
        """The tax the ledger should hold for a sales document we sent (None: cannot tell)."""

    @abstractmethod
    def rate_of(self, doc_type: str, payload: Mapping[str, Any] | None) -> Decimal | None:
        """The exchange rate a payload (sent or read) carries, in the platform's convention; None at 1."""

    @abstractmethod
    def accounts_of(self, raw: Mapping[str, Any]) -> tuple[tuple[str, Decimal], ...]:
        """(account, signed amount) of a read document's journal lines (debit positive)."""

    #: Document lines name an item by its code (Xero's ``ItemCode``), not by its id (QBO's ``ItemRef``):
    #: which of an item's two names :meth:`items_of` answers with.
    items_by_code: ClassVar[bool] = False

    def items_of(self, doc_type: str,
                 payload: Mapping[str, Any] | None) -> tuple[tuple[str, Decimal | None], ...] | None:
        """(item, quantity) per item a sales document's lines carry (sent payload or read document,
        see :func:`item_quantities`); None where the platform or the document type carries none."""
        return None

    @abstractmethod
    def manual_import_csv(self, docs: Sequence[ImportDoc]) -> ImportSheet:
        """Pending documents in the platform's own import CSV, for manual entry's export
        (:mod:`~desktop.services.platforms.import_csv`); hostile cells are defused."""

    @abstractmethod
    def parse_webhook(self, body: bytes) -> list[Notification]:
        """The notifications of a verified webhook delivery (raw bytes as signed); ``ValueError``
        when the body cannot be read, never another exception (:mod:`.webhooks`)."""

    @abstractmethod
    def feed_start(self, cursor: str | None, window_start: datetime, now: datetime) -> tuple[Any, bool]:
        """Where the change feed starts: (since, True when the cursor is older than the feed keeps)."""

    @abstractmethod
    def metered(self, method: str, url: str, body: bytes | None) -> tuple[int, int] | None:
        """``(reads, writes)`` one answered request counts as, classified as the platform meters it
        (the sandbox's ``/_sandbox/usage`` classifies the same way); None: not metered at all."""

    #: The document type a vendor credit is posted, read and taken back as.
    vendor_credit_doc_type: ClassVar[str] = ""

    def vendor_credit(self, draft: VendorCreditDraft) -> PostRequest:
        """The posting request for a vendor credit (send it with :meth:`LedgerPlatform.post_batch`)."""
        raise NotImplementedError(f"{self.display_name}: vendor credits are not supported")

    def allowance_refused(self, headers: Mapping[str, str], text: str) -> bool | None:
        """Does a 429 answer say the metered allowance is used up (not a per-minute rate limit)?

        True: the platform says so; False: it names another limit; None: it cannot tell — the
        app's own count of the period decides (``connections/allowance.py``).
        """
        return None

    @abstractmethod
    def take_back_verb(self, doc_type: str) -> str:
        """How a posted document of ``doc_type`` is taken back: ``void``, or ``delete`` where the
        platform offers no void for it (QBO journal entries, Xero payments)."""


# --- one connected company -------------------------------------------------------------------

class LedgerPlatform(ABC):
    """One company of one platform; every read and write of the ledger goes through this."""

    profile: PlatformProfile
    company_id: str
    http: LedgerHttp
    #: At most this many documents per posting request.
    max_batch: int

    @property
    def platform(self) -> str:
        return self.profile.key

    @property
    def requests_sent(self) -> int:
        return self.http.requests_sent

    # reference data
    @abstractmethod
    def company_info(self) -> CompanyInfo: ...

    @abstractmethod
    def reference_data(self, kinds: Iterable[RefKind] | None = None,
                       progress: Progress | None = None) -> dict[RefKind, list[RefRecord]]: ...

    # reading documents
    @abstractmethod
    def find_by_keys(self, wanted: Sequence[KeyQuery]) -> dict[str, RemoteDoc | None]:
        """Each key's document (None: not in the ledger), in as few requests as the platform allows."""

    @abstractmethod
    def find_by_number(self, doc_type: str, number: str) -> RemoteDoc | None:
        """The live (not voided/deleted) document a person typed in, by the number the ledger showed."""

    @abstractmethod
    def document(self, doc_type: str, remote_id: str) -> RemoteDoc:
        """One document by id. Raises NeedsPersonError (code in :attr:`gone_codes`) when it is gone."""

    #: Platform codes meaning "this document does not exist".
    gone_codes: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def documents_dated(self, start: date, end: date) -> list[RemoteDoc]:
        """Every document of the kinds we post dated ``start``..``end`` (paged to exhaustion)."""

    @abstractmethod
    def changes_since(self, since: Any, now: Callable[[], datetime]) -> ChangeFeed:
        """The change feed from ``since`` (from :meth:`PlatformProfile.feed_start`); ``now`` is the
        app's clock, for a platform whose answers carry no server time."""

    # posting
    @abstractmethod
    def post_batch(self, items: list[PostRequest], marks: list[str]) -> list[SendResult]:
        """Create ``items`` (≤ :attr:`max_batch`; one type if ``one_type_per_request``) in one request.

        ``marks`` identify this send of these documents; the request's idempotency id derives from
        them, so the same attempt sent again is answered, not executed twice.
        """

    def ensure_customers(self, wanted: list[tuple[str, str | None, str | None]]
                         ) -> dict[tuple[str, str | None], str | AppError]:
        """Customer id per :meth:`customer_key` for (name, e-mail, currency), created on demand."""
        raise NotImplementedError(f"{self.profile.display_name} documents name their contact directly")

    def customer_key(self, name: str, currency: str | None) -> tuple[str, str | None]:
        return name, currency

    def ensure_item(self, account_id: str) -> str:
        """An item booking to ``account_id``, created on demand (platforms whose lines use items)."""
        raise NotImplementedError(f"{self.profile.display_name} lines name their account directly")

    def learned_customers(self) -> list[RefRecord]:
        """Customers found or created while posting, for the reference cache."""
        return []

    @abstractmethod
    def void(self, doc_type: str, remote_id: str) -> None:
        """Void the document (a payment, which cannot be voided, is deleted)."""

    @abstractmethod
    def delete(self, doc_type: str, remote_id: str) -> None:
        """Delete the document."""

    @abstractmethod
    def take_back(self, doc_type: str, remote_id: str, version: str | None, mark: str) -> str:
        """Void the document — or delete it where :meth:`PlatformProfile.take_back_verb` says so —
        as of ``version`` (the SyncToken read just before, where the platform has one: a document
        changed since is refused, not voided blind). ``mark`` makes the request idempotent (QBO
        ``requestid``, Xero ``Idempotency-Key``): sent again after a lost answer, it is answered,
        not executed twice. Returns ``voided`` or ``deleted``."""

    # vendor credits: the posting interface's documents of :attr:`PlatformProfile.vendor_credit_doc_type`
    def post_vendor_credit(self, draft: VendorCreditDraft, mark: str) -> SendResult:
        """Create one vendor credit (idempotent per ``mark``, like any posting request)."""
        return self.post_batch([self.profile.vendor_credit(draft)], [mark])[0]

    def vendor_credit(self, remote_id: str) -> RemoteDoc:
        """One vendor credit by id (raises as :meth:`document` does when it is gone)."""
        return self.document(self.profile.vendor_credit_doc_type, remote_id)

    def take_back_vendor_credit(self, remote_id: str, version: str | None, mark: str) -> str:
        """Void it — or delete it where the platform offers no void (QBO) — as :meth:`take_back` does."""
        return self.take_back(self.profile.vendor_credit_doc_type, remote_id, version, mark)

    # exchange rates
    @abstractmethod
    def exchange_rate(self, currency: str, day: date) -> dict[str, Any] | None:
        """The platform's rate row for (currency, day); None when it has none."""

    def exchange_rates(self, wanted: Iterable[tuple[str, date]]) -> list[dict[str, Any]]:
        """Rate rows for many (currency, day), one read per pair; a pair that fails is left out."""
        from desktop.services.core.errors import AppError
        rows: list[dict[str, Any]] = []
        for cur, day in sorted(wanted):
            try:
                row = self.exchange_rate(cur, day)
            except AppError:
                row = None  # pre-flight reports the missing rate for a person
            if row is not None:
                rows.append(row)
        return rows

