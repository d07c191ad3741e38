"""Topic tags: names normalised and capped by the site settings."""
from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import select

from . import sitesettings
from .models import Tag, Topic, TopicTag


def set_tags(session, topic: Topic, tags: Iterable[str]) -> None:
    """Replace TOPIC's tags by TAGS (lower case, spaces as dashes, deduplicated, capped)."""
    names = []
    for tag in tags or ():
        name = re.sub(r"\s+", "-", str(tag).strip().lower())[:sitesettings.get(session, "max_tag_length")]
        if name and name not in names:
            names.append(name)
    names = names[:sitesettings.get(session, "max_tags_per_topic")]
    for row in session.scalars(select(TopicTag).where(TopicTag.topic_id == topic.id)):
        session.delete(row)
    session.flush()
    for name in names:
        tag = session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
            session.flush()
        session.add(TopicTag(topic_id=topic.id, tag_id=tag.id))
    session.flush()

