"""The ledger mirror reconciliation reads instead of the ledger (``ledger_mirror_docs``,
``ledger_mirror_state``): documents kept current by the change feed, per connection.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        'ledger_mirror_docs',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('doc_type', sa.String(length=40), nullable=False),
        sa.Column('remote_id', sa.String(length=64), nullable=False),
        sa.Column('txn_date', sa.Date(), nullable=True),
        sa.Column('raw', _JSON, nullable=False),
        sa.Column('remote_updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['ledger_connections.id'],
                                name=op.f('fk_ledger_mirror_docs_connection_id_ledger_connections'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_mirror_docs')),
        sa.UniqueConstraint('connection_id', 'doc_type', 'remote_id',
                            name=op.f('uq_ledger_mirror_docs_connection_id_doc_type_remote_id')),
    )
    with op.batch_alter_table('ledger_mirror_docs', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_mirror_docs_dated', ['connection_id', 'txn_date'], unique=False)
    op.create_table(
        'ledger_mirror_state',
        sa.Column('connection_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('cursor', sa.Text(), nullable=True),
        sa.Column('covered', _JSON, nullable=False),
        sa.Column('full_reads', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['ledger_connections.id'],
                                name=op.f('fk_ledger_mirror_state_connection_id_ledger_connections'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('connection_id', name=op.f('pk_ledger_mirror_state')),
    )


def downgrade() -> None:
    op.drop_table('ledger_mirror_state')
    with op.batch_alter_table('ledger_mirror_docs', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_mirror_docs_dated')
    op.drop_table('ledger_mirror_docs')
