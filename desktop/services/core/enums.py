"""Closed vocabularies stored as short strings (with a CHECK constraint, not a native enum type).

Non-native enums keep PostgreSQL and SQLite identical and let a later migration add a value by
rewriting one CHECK constraint instead of ``ALTER TYPE``. Values are lowercase and stable: they
are what the database, exports and the event log contain.
"""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    QBO = "qbo"
    XERO = "xero"


class LedgerEnvironment(StrEnum):
    """Which service a connection reaches (endpoints per environment: ``auth/platforms.py``)."""

    PRODUCTION = "production"    # the real Intuit / Xero services
    DEVELOPMENT = "development"  # Intuit's sandbox companies (QBO development keys)
    LOCAL = "local"              # our emulators in desktop/sandbox (demo, tests)


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_REAUTH = "needs_reauth"  # refresh token expired or revoked: a person must log in again
    DISCONNECTED = "disconnected"
    ERROR = "error"


class RefundMethod(StrEnum):
    ORIGINAL_PAYMENT = "original_payment"
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"


class ReturnSyncStatus(StrEnum):
    """Where a return revision stands in *our* pipeline (the RMS's own status is kept apart)."""

    NEW = "new"                  # ingested, not yet through the recipes / pre-flight
    READY = "ready"              # pre-flight passed, documents are in the outbox
    QUARANTINED = "quarantined"  # pre-flight failed: a person must fix mapping or data
    POSTED = "posted"            # every document for this revision is in the ledger
    SUPERSEDED = "superseded"    # a newer revision of the same return replaced this one
    IGNORED = "ignored"          # deliberately not posted (e.g. entered by hand, or out of scope)


class FeeType(StrEnum):
    RESTOCKING_FEE = "restocking_fee"
    RETURN_SHIPPING_CHARGED = "return_shipping_charged"
    OUTBOUND_SHIPPING_REFUNDED = "outbound_shipping_refunded"
    LABEL_COST = "label_cost"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"      # leased by a worker (lease_owner / lease_expires_at)
    POSTED = "posted"
    FAILED = "failed"            # retryable, next_attempt_at says when
    QUARANTINED = "quarantined"  # needs a person
    UNCERTAIN = "uncertain"      # sent, outcome unknown: look it up by key before any re-send
    AWAITING_ADOPTION = "awaiting_adoption"  # typed into the ledger by hand: never sent, only adopted
    VOID_PENDING = "void_pending"  # an undo of its run will take it back in the ledger (intent recorded)
    VOIDED = "voided"              # taken back by an undo: voided (or deleted) in the ledger


class SyncRunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReconciliationStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class VarianceStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ACCEPTED = "accepted"


class ManualEntryPath(StrEnum):
    QUEUED = "queued"                      # typed into the app, posted by the outbox later
    ENTERED_DIRECTLY = "entered_directly"  # keyed straight into the ledger; we record and match it


class ManualEntryStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    POSTED = "posted"
    MATCHED = "matched"      # found in the ledger and linked, so sync will never post it again
    CANCELLED = "cancelled"


class UserRole(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class ApprovalKind(StrEnum):
    """What a maker-checker request asks a second person to let through."""

    MANUAL_ENTRY = "manual_entry"  # a return recorded by hand (manual/submit.py)
    ADJUSTMENT = "adjustment"      # an adjusting journal for a variance (reconcile/adjust.py)
    VOID = "void"                  # voiding a posted document in the ledger (manual/actions.py)
    MAPPING = "mapping"            # a mapping version becoming active (mapping/service.py)
    UNDO_RUN = "undo_run"          # taking back every document of a sync run (pipeline/undo.py)


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
