"""inbox_message.interrupted: how many times a worker died while this message was being
processed (pipeline/runner.py sets a message aside after INTERRUPTED_MAX)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Plain ALTER TABLE on both databases (SQLite ≥ 3.35 drops a column in place): a batch
# operation would copy inbox_message into a new table and drop the old one, and on SQLite
# that drop deletes, through the foreign key's ON DELETE CASCADE, every mail's raw bytes
# in inbox_raw (tests/test_db.py, the migrations' round trip).


def upgrade():
    op.add_column('inbox_message', sa.Column('interrupted', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    op.drop_column('inbox_message', 'interrupted')
