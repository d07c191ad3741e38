"""The ``tags`` parameter of ``POST /posts.json`` and ``PUT /t/{id}.json``, read as Discourse reads it.

Discourse takes tag objects, ``[{"id": 3}, {"name": "sve"}]``: an ``id`` names an existing tag
(an id naming none is dropped), a ``name`` counts only when the object has no ``id``
(TopicsController#resolve_tag_names; PostsController#create_params permits ``tags: [:id, :name]``).
Tag names as plain strings still work but are deprecated since 2026.01, to be dropped from
2026.07: Discourse then logs a deprecation warning, and so does this forum (logger
``forumsync.localforum.tag_params``), so a test can prove forumsync no longer sends them.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from .errors import ApiError
from .http import as_list
from .models import Tag

log = logging.getLogger(__name__)
DEPRECATION = ("Passing tag names as strings to the tags param is deprecated, use tag objects "
               "({id, name}) instead")


def _tag_id(value) -> int:
    """Ruby's ``to_i``: the leading digits, else 0 (which names no tag)."""
    digits = ""
    for char in str(value).strip():
        if not char.isdigit():
            break
        digits += char
    return int(digits or 0)


def tag_names(session, value) -> list[str]:
    """The tag names VALUE (the request's ``tags``) asks for, in Discourse's order: names given
    without an id first, then the names of the existing tags given by id."""
    items = value if isinstance(value, list) else as_list(value)
    items = [item for item in items if item not in (None, "")]
    if not items:
        return []
    if isinstance(items[0], str):  # Discourse decides on the first item, as here
        log.warning("%s (since 2026.01, dropped from 2026.07)", DEPRECATION)
        return [item for item in as_list(items) if isinstance(item, str)]
    if not all(isinstance(item, dict) for item in items):
        raise ApiError(400, "You supplied invalid parameters to the request: tags", "invalid_parameters")
    ids = [_tag_id(item["id"]) for item in items if item.get("id") not in (None, "")]
    names = [str(item["name"]) for item in items
             if item.get("id") in (None, "") and item.get("name") not in (None, "")]
    if ids:
        names += list(session.scalars(select(Tag.name).where(Tag.id.in_(ids)).order_by(Tag.id)))
    return names
