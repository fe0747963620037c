"""Ledger connections: OAuth apps, signing in, token health, and the reference-data cache."""
