"""Xero behind the LedgerPlatform interface."""
