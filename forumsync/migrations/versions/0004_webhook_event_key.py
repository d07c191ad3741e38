"""webhook_event.event_key: a webhook is stored once per event, not per delivery

Discourse sends a retry as a new delivery with a new X-Discourse-Event-Id
(app/jobs/regular/emit_web_hook_event.rb), so the delivery id cannot tell a retry from a new
event; the event key (event, object id, version/updated_at, body digest) can.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('webhook_event', sa.Column('event_key', sa.String(length=300), nullable=True))
    op.create_index('uq_webhook_event_event_key', 'webhook_event', ['event_key'], unique=True)


def downgrade():
    op.drop_index('uq_webhook_event_event_key', table_name='webhook_event')
    op.drop_column('webhook_event', 'event_key')
