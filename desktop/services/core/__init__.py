"""The foundation every other package builds on.

Money, exact JSON, clock, errors, events, domain types and enums, idempotency keys, safe input,
the CSV writer and the failure boundary.
"""
