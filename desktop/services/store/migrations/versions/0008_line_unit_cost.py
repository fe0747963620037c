"""The RMS's unit cost of a returned line (``return_lines.unit_cost_minor``): nullable, for the
goods journal (issue 16); NULL where the RMS does not know the cost and for every line stored before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_cost_minor', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.drop_column('unit_cost_minor')
