"""ForumGateway: the one class that talks to Discourse (the only runtime user of pydiscourse).

It wraps a pydiscourse ``DiscourseClient`` (``client.py``: connection, session, timeouts,
retries, 429 waits, pacing, typed errors, counters) and gathers the calls by resource, each
group in a module of its own, all ``noun_verb`` methods of this one class:

- ``gateway_categories.py``: ``category_list`` (lazy loading included), ``category_get``,
  writes and the About-topic description;
- ``gateway_posts.py``: topics, posts (``ForumPending`` for a post held for approval),
  uploads, tags, site settings;
- ``gateway_people.py``: users (``user_by_email`` URL-encoded, exact-matched and cached) and
  groups;
- ``gateway_plugin.py``: the discourse-forumsync plugin (``capabilities``, ``has_feature``,
  staged posts, batches, lookups by Message-ID or email).

Rarely changing facts (the category list, a category as shown, the plugin's capabilities,
what pipeline modules derive from them) are cached once per gateway in ``gateway.facts``
(``facts.py``), shared by the clones ``as_user`` makes.
"""
from __future__ import annotations

from .client import ForumClient
from .errors import ForumError, ForumNotFound, ForumPending, ForumRejected, ForumUnavailable
from .gateway_categories import CategoryCalls
from .gateway_people import PeopleCalls
from .gateway_plugin import PluginCalls
from .gateway_posts import PostCalls

__all__ = ["ForumGateway", "ForumError", "ForumUnavailable", "ForumRejected", "ForumNotFound",
           "ForumPending"]


class ForumGateway(CategoryCalls, PostCalls, PeopleCalls, PluginCalls, ForumClient):
    """The forum's API as forumsync uses it: ``ForumGateway(url, api_key, api_username, ...)``
    or ``ForumGateway.from_settings(settings)`` (``ctx.forum``)."""
