"""inbox_raw: each inbound mail's raw bytes apart from its inbox_message row

SQLite rewrites a whole row on every UPDATE; the raw mail (often 10–100 KB) was rewritten by
each state change of its inbox row (the worker's claim, its final update).

The foreign key inbox_raw → inbox_message is added last: on SQLite, dropping the raw column
rebuilds inbox_message (batch mode: copy, DROP TABLE, rename), and with foreign_keys=ON that
DROP TABLE would cascade to every inbox_raw row already referencing it.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inbox_raw',
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('inbox_id', name=op.f('pk_inbox_raw'))
    )
    op.execute('INSERT INTO inbox_raw (inbox_id, raw) SELECT id, raw FROM inbox_message')
    with op.batch_alter_table('inbox_message', schema=None) as batch_op:
        batch_op.drop_column('raw')
    with op.batch_alter_table('inbox_raw', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_inbox_raw_inbox_id_inbox_message'), 'inbox_message',
                                    ['inbox_id'], ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('inbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw', sa.LargeBinary(), nullable=True))
    op.execute('UPDATE inbox_message SET raw = (SELECT inbox_raw.raw FROM inbox_raw '
               'WHERE inbox_raw.inbox_id = inbox_message.id)')
    op.drop_table('inbox_raw')
    with op.batch_alter_table('inbox_message', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.LargeBinary(), nullable=False)
