"""The Audit log page's parts: the lazy grid model (the page is :mod:`desktop.views.pages.audit_log`)."""
