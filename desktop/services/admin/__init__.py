"""Administration: users and roles, the audit trail, exchange rates an admin enters."""
