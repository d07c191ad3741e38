"""Who moderates a category without being a site moderator: the theme leads.

Issue 12 says a mail without a verdict never posts as a staff account; a category moderator
(a member of a group in a category's ``moderating_group_ids``, or of a lead group
``animateurs-<slug>``) is a moderator. Read once per ``REFRESH_SECONDS`` and gateway (groups,
categories, then each lead group's members), never per message; kept in ``forum.facts``.
"""
from __future__ import annotations

import logging

from ..forum.gateway import ForumError
from ..themes.desired import GROUP_PREFIX

log = logging.getLogger(__name__)

REFRESH_SECONDS = 120.0
FACT = "moderators.leads"  # forum.facts entry


def _read(forum) -> frozenset[str] | None:
    """Lower-cased usernames of every lead; None when the forum would not say (then every
    account without a verdict is treated as a lead: safe side)."""
    try:
        moderating = {int(g) for c in forum.facts.categories(refresh=True)
                      for g in c.get("moderating_group_ids") or ()}
        groups = [g for g in forum.group_list()
                  if (g.get("name") or "").startswith(GROUP_PREFIX) or g.get("id") in moderating]
        leads = set()
        for group in groups:
            found = forum.group_members(group["name"])
            leads |= {(u.get("username") or "").lower() for u in found["members"] + found["owners"]}
        return frozenset(leads - {""})
    except ForumError as exc:
        log.warning("animateurs illisibles (%s) : tout compte sans verdict est traité comme "
                    "animateur", exc)
        return None


def _load(forum) -> frozenset[str] | None:
    return forum.facts.remember(FACT, REFRESH_SECONDS, _read)


def is_lead(forum, username: str) -> bool:
    """USERNAME moderates a category through a group (or the forum would not tell)."""
    leads = _load(forum)
    return leads is None or (username or "").lower() in leads
