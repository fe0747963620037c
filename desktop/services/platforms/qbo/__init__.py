"""QuickBooks Online behind the LedgerPlatform interface."""
