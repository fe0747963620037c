"""The main window's pages, in sidebar order (Ctrl+1 … Ctrl+8 follow this order)."""

from __future__ import annotations

from desktop.views.pages.audit_log import AuditLogPage
from desktop.views.pages.base import Page
from desktop.views.pages.connections import ConnectionsPage
from desktop.views.pages.dashboard import DashboardPage
from desktop.views.pages.manual_entry import ManualEntryPage
from desktop.views.pages.mappings import MappingsPage
from desktop.views.pages.reconciliation import ReconciliationPage
from desktop.views.pages.returns import ReturnsPage
from desktop.views.pages.settings import SettingsPage

PAGE_CLASSES: tuple[type[Page], ...] = (
    DashboardPage, ConnectionsPage, MappingsPage, ReturnsPage,
    ReconciliationPage, ManualEntryPage, AuditLogPage, SettingsPage,
)

__all__ = ["PAGE_CLASSES"]
