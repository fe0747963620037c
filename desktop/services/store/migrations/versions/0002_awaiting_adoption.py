"""Outbox: "awaiting adoption" becomes a state of its own, with the number a person typed.

Until now a document entered by hand in the ledger was a *quarantined* row whose ``last_error``
JSON carried an ``awaiting_adoption`` key, and every path had to remember to look for it (the
error log's Retry did not, and could release such a document to be posted twice). The rows are
moved to the new status, their number to the new ``awaiting_number`` column.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ('pending', 'in_flight', 'posted', 'failed', 'quarantined', 'uncertain')
_NEW = (*_OLD, 'awaiting_adoption')
_KEY = 'awaiting_adoption'


def _status(values: tuple[str, ...], length: int) -> sa.Enum:
    return sa.Enum(*values, name='status', native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    with op.batch_alter_table('outbox_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_number', sa.String(length=64), nullable=True))
        batch_op.alter_column('status', existing_type=_status(_OLD, 19), type_=_status(_NEW, 25),
                              existing_nullable=False)
    table = sa.table('outbox_documents', sa.column('id', sa.Integer), sa.column('status', sa.String),
                     sa.column('last_error', sa.JSON), sa.column('awaiting_number', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c.last_error).where(table.c.status == 'quarantined')).all()
    for row_id, last_error in rows:
        err = json.loads(last_error) if isinstance(last_error, str) else (last_error or {})
        if not isinstance(err, dict) or not err.get(_KEY):
            continue
        number = str(err.pop(_KEY))
        bind.execute(sa.update(table).where(table.c.id == row_id).values(
            status='awaiting_adoption', awaiting_number=number, last_error=err))


def downgrade() -> None:
    table = sa.table('outbox_documents', sa.column('id', sa.Integer), sa.column('status', sa.String),
                     sa.column('last_error', sa.JSON), sa.column('awaiting_number', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c.last_error, table.c.awaiting_number)
                        .where(table.c.status == 'awaiting_adoption')).all()
    for row_id, last_error, number in rows:
        err = json.loads(last_error) if isinstance(last_error, str) else (last_error or {})
        bind.execute(sa.update(table).where(table.c.id == row_id).values(
            status='quarantined', last_error={**err, _KEY: number}))
    with op.batch_alter_table('outbox_documents', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=_status(_NEW, 25), type_=_status(_OLD, 19),
                              existing_nullable=False)
        batch_op.drop_column('awaiting_number')
