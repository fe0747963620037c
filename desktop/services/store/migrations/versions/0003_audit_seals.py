"""Audit log: entries sealed with HMAC-SHA256 (key in the OS keyring), plus the return they concern.

New columns: ``key_id`` (the sealing key's fingerprint; NULL marks a legacy entry chained with plain
SHA-256), ``keyed_from`` (set on the first sealed entry: where sealing began) and ``rma`` (the
return an entry is about, for the Audit page's filter), with indexes for filtering by person,
organization and return.

Existing entries are left exactly as they are — not re-sealed, which would bless whatever they
say today as if it had been sealed when written. They stay verifiable under their old rule; the
app's next entry becomes the first sealed one and records the boundary
(``desktop.services.admin.audit``). Sealing needs the keyring, so it happens at that first
append, not here.

On SQLite adding columns is a plain ``ALTER TABLE … ADD COLUMN``: the table is not rebuilt and its
append-only triggers stay. The downgrade drops the columns (SQLite rebuilds the table for that),
so it re-creates the triggers afterwards; sealed entries then no longer verify under the old code.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY = "audit_log is append-only"


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rma', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('keyed_from', sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_log_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_rma'), ['rma'], unique=False)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # the batch rebuild below copies the table; the triggers must not refuse that
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_rma'))
        batch_op.drop_index(batch_op.f('ix_audit_log_organization_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_actor'))
        batch_op.drop_column('keyed_from')
        batch_op.drop_column('key_id')
        batch_op.drop_column('rma')
    if sqlite:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
