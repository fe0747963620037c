"""Widgets of the Reconciliation page: the variance grid, the document diff, the report export."""
