"""Returns Ledger Sync: keeps a Returns Management System and QuickBooks Online / Xero in step."""

__version__ = "0.1.0"
APP_NAME = "Returns Ledger Sync"
APP_ID = "returns-ledger-sync"
