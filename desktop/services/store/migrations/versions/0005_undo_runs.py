"""Undo a sync run: which run posted each document, void intents, and a return's posting round.

- ``outbox_documents.run_id``: the push run (``sync_runs``) that posted the document — a run's
  list of what it posted. Documents posted before this migration have none (they cannot be undone
  by run; a person voids them one by one as before).
- Two outbox states: ``void_pending`` (an undo recorded its intent to take the document back in the
  ledger; a crashed undo resumes from it) and ``voided`` (taken back: voided, or deleted where the
  platform only allows that).
- ``returns.posting_round``: how many times the revision's documents were taken back by an undo.
  The documents of round *n* > 0 carry keys and numbers of their own, so a re-post is never
  mistaken for (or replayed as) the voided documents.
- ``approval_requests.kind`` gains ``undo_run`` (maker-checker on an undo).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ('pending', 'in_flight', 'posted', 'failed', 'quarantined', 'uncertain', 'awaiting_adoption')
_NEW = (*_OLD, 'void_pending', 'voided')
_OLD_KINDS = ('manual_entry', 'adjustment', 'void', 'mapping')
_NEW_KINDS = (*_OLD_KINDS, 'undo_run')


def _enum(values: tuple[str, ...], name: str, length: int) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    with op.batch_alter_table('outbox_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_documents_run_id_sync_runs'), 'sync_runs', ['run_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_outbox_documents_run', ['run_id', 'status'], unique=False)
        batch_op.alter_column('status', existing_type=_enum(_OLD, 'status', 25), type_=_enum(_NEW, 'status', 25),
                              existing_nullable=False)
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posting_round', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=_enum(_OLD_KINDS, 'kind', 20),
                              type_=_enum(_NEW_KINDS, 'kind', 20), existing_nullable=False)


def downgrade() -> None:
    table = sa.table('outbox_documents', sa.column('status', sa.String))
    # A document being or having been taken back is, for the older schema, still posted.
    op.get_bind().execute(sa.update(table).where(table.c.status.in_(('void_pending', 'voided')))
                          .values(status='posted'))
    approvals = sa.table('approval_requests', sa.column('kind', sa.String))
    op.get_bind().execute(sa.delete(approvals).where(approvals.c.kind == 'undo_run'))
    with op.batch_alter_table('approval_requests', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=_enum(_NEW_KINDS, 'kind', 20),
                              type_=_enum(_OLD_KINDS, 'kind', 20), existing_nullable=False)
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_column('posting_round')
    with op.batch_alter_table('outbox_documents', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=_enum(_NEW, 'status', 25), type_=_enum(_OLD, 'status', 25),
                              existing_nullable=False)
        batch_op.drop_index('ix_outbox_documents_run')
        batch_op.drop_constraint(batch_op.f('fk_outbox_documents_run_id_sync_runs'), type_='foreignkey')
        batch_op.drop_column('run_id')
