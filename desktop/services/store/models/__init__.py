"""The app's tables. Import models from here; the split into modules is for readability only."""

from desktop.services.core.enums import (
    ApprovalKind,
    ApprovalStatus,
    ConnectionStatus,
    FeeType,
    LedgerEnvironment,
    ManualEntryPath,
    ManualEntryStatus,
    OutboxStatus,
    Platform,
    ReconciliationStatus,
    RefundMethod,
    ReturnSyncStatus,
    SyncRunStatus,
    UserRole,
    VarianceStatus,
)
from desktop.services.store.models.approvals import ApprovalRequest
from desktop.services.store.models.base import NAMING_CONVENTION, Base
from desktop.services.store.models.logs import AuditLog, EventLog
from desktop.services.store.models.mapping import MappingRule, MappingSet
from desktop.services.store.models.mirror import LedgerMirrorDoc, LedgerMirrorState
from desktop.services.store.models.org import LedgerConnection, Organization, Setting, User
from desktop.services.store.models.outbox import OutboxDocument, SyncCursor, SyncRun
from desktop.services.store.models.reconcile import ManualEntry, ReconciliationRun, Variance
from desktop.services.store.models.refcache import (
    REF_TABLES,
    RefAccount,
    RefCustomer,
    RefItem,
    RefTaxCode,
    RefTracking,
)
from desktop.services.store.models.returns import (
    QuarantineReason,
    Return,
    ReturnFee,
    ReturnLine,
    ReturnTaxLine,
)
from desktop.services.store.models.usage import LedgerUsage

metadata = Base.metadata

__all__ = [
    "NAMING_CONVENTION",
    "REF_TABLES",
    "ApprovalKind",
    "ApprovalRequest",
    "ApprovalStatus",
    "AuditLog",
    "Base",
    "ConnectionStatus",
    "EventLog",
    "FeeType",
    "LedgerConnection",
    "LedgerEnvironment",
    "LedgerMirrorDoc",
    "LedgerMirrorState",
    "LedgerUsage",
    "ManualEntry",
    "ManualEntryPath",
    "ManualEntryStatus",
    "MappingRule",
    "MappingSet",
    "Organization",
    "OutboxDocument",
    "OutboxStatus",
    "Platform",
    "QuarantineReason",
    "ReconciliationRun",
    "ReconciliationStatus",
    "RefAccount",
    "RefCustomer",
    "RefItem",
    "RefTaxCode",
    "RefTracking",
    "RefundMethod",
    "Return",
    "ReturnFee",
    "ReturnLine",
    "ReturnSyncStatus",
    "ReturnTaxLine",
    "Setting",
    "SyncCursor",
    "SyncRun",
    "SyncRunStatus",
    "User",
    "UserRole",
    "Variance",
    "VarianceStatus",
    "metadata",
]
