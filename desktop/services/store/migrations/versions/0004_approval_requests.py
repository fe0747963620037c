"""Maker-checker: requests that wait for a second person's approval.

One new table, ``approval_requests``: who asked for what (a manual entry, an adjusting entry, a
void, a mapping version), the amount in its own and in the home currency, and the decision (who,
when, note). Nothing existing changes, so the downgrade drops the table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-11
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('approval_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('manual_entry', 'adjustment', 'void', 'mapping', name='kind', native_enum=False,
                              create_constraint=True, length=20), nullable=False),
    sa.Column('target', sa.String(length=128), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('home_amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('home_currency', sa.String(length=3), nullable=True),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='status', native_enum=False,
                                create_constraint=True, length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                            name=op.f('fk_approval_requests_organization_id_organizations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_requests'))
    )
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.create_index('ix_approval_requests_status_org', ['status', 'organization_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_requests_status_org')
    op.drop_table('approval_requests')
