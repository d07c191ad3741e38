"""The models, one concept per module. Import them all here so Alembic sees every table."""
import importlib
import pkgutil

from .base import Base, UTCDateTime, utcnow  # noqa: F401
from .inbox import InboxMessage  # noqa: F401
from .inbox_raw import InboxRaw  # noqa: F401
from .outbox import OutboxMail  # noqa: F401
from .post_link import PostLink  # noqa: F401
from .state_value import StateValue, get_state, set_state  # noqa: F401
from .topic_link import TopicLink  # noqa: F401
from .webhook_event import WebhookEvent  # noqa: F401

# Area models (catalogue, community…) live in their own modules here too; load them all.
for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
