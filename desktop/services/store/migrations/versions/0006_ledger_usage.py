"""Metered ledger calls per connection per day (``ledger_usage``), as the app counts them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ledger_usage',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reads', sa.Integer(), nullable=False),
        sa.Column('writes', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['ledger_connections.id'],
                                name=op.f('fk_ledger_usage_connection_id_ledger_connections'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_usage')),
        sa.UniqueConstraint('connection_id', 'day', name=op.f('uq_ledger_usage_connection_id_day')),
    )


def downgrade() -> None:
    op.drop_table('ledger_usage')
