"""webhook_event.interrupted and outbox_mail.interrupted: how many times a worker died while
that event or mail was in its hands (forum/events.py and outbound/outbox.py set it aside
after queues.INTERRUPTED_MAX, as pipeline/runner.py does for the inbox since 0008)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Plain ALTER TABLE, as 0008 (a batch operation would copy the tables on SQLite).


def upgrade():
    for table in ('webhook_event', 'outbox_mail'):
        op.add_column(table, sa.Column('interrupted', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    for table in ('webhook_event', 'outbox_mail'):
        op.drop_column(table, 'interrupted')
