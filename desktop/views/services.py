"""The services a window's pages use, by name and type: what the composition root hands the views.

Built only by the composition root (:func:`desktop.app.view_services`, and tests through it or by
naming just the services a page needs); views only call what is here and never build a service
or open a database session. A field left None is a service this window lacks: the pages that
need it show their empty or "not available" state instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop.services.core.clock import Clock, SystemClock

if TYPE_CHECKING:
    from desktop.services.admin.audit_trail import AuditTrail
    from desktop.services.admin.fx_rates import FxRateSettings
    from desktop.services.admin.org_settings import PostingSettings
    from desktop.services.admin.users import UserService
    from desktop.services.connections.apps import OAuthApps
    from desktop.services.connections.service import ConnectionService
    from desktop.services.manual import ManualEntryService
    from desktop.services.manual.approvals import ApprovalService
    from desktop.services.mapping.impact import MappingImpact
    from desktop.services.mapping.service import MappingService
    from desktop.services.pipeline.scheduler import SyncScheduler
    from desktop.services.pipeline.undo import UndoService
    from desktop.services.queries.dashboard import DashboardService
    from desktop.services.queries.errors import ErrorsQueue
    from desktop.services.queries.organizations import OrganizationDirectory
    from desktop.services.queries.returns import ReturnsQuery
    from desktop.services.queries.setup import SetupService
    from desktop.services.reconcile.adjust import AdjustService
    from desktop.services.reconcile.packs import AuditPacks
    from desktop.services.reconcile.service import ReconcileService
    from desktop.services.rms.endpoint import RmsEndpoint
    from desktop.services.rms.file_import import ReturnsFileImport
__all__ = ["ViewServices"]


@dataclass(frozen=True)
class ViewServices:
    """Every service a page may call, one typed field each (see the module docstring)."""

    clock: Clock = field(default_factory=SystemClock)
    # connections and sign-in: Connections page, Settings → ledger apps, Dashboard
    connections: ConnectionService | None = None
    oauth_apps: OAuthApps | None = None
    # people and history: Settings → users, the log dock's error actions, Audit log
    users: UserService | None = None
    errors_queue: ErrorsQueue | None = None
    audit_trail: AuditTrail | None = None
    # returns: Returns and Manual entry pages
    returns_query: ReturnsQuery | None = None
    returns_import: ReturnsFileImport | None = None  # Returns page: "Import file…"
    manual_entry: ManualEntryService | None = None
    # maker-checker: the dashboard's queue of requests waiting for a second person
    approvals: ApprovalService | None = None
    # reconciliation: runs and reviews, adjusting entries, audit packs
    reconcile: ReconcileService | None = None
    adjust: AdjustService | None = None
    audit_packs: AuditPacks | None = None
    # mappings: the editor and its preview on recent returns
    mapping: MappingService | None = None
    mapping_impact: MappingImpact | None = None
    # settings and pickers
    fx_rates: FxRateSettings | None = None
    posting_settings: PostingSettings | None = None  # Settings → Posting choices
    organizations: OrganizationDirectory | None = None
    # sync: the dashboard's read model and the scheduler behind "Sync now" / "Pause"
    dashboard: DashboardService | None = None
    scheduler: SyncScheduler | None = None
    # the returns system's address and key (Connections' RMS tile) and the first-run assistant
    rms: RmsEndpoint | None = None
    setup: SetupService | None = None
    # sync runs: the dashboard's list of runs, what each posted, and "Undo run…" (needs connections)
    runs: UndoService | None = None
