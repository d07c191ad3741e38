"""Which forum posts go to the list: one rule returning (verdict, reason in French).

The rule is pure: ``events`` gathers the facts (the post and topic as the forum serves them
now, never the webhook payload; the category and its parents; whether forumsync published the
post) and asks, once when the event is handled and again right before the SMTP hand-off.
A restricted category never leaks: when in doubt about a category's audience, the answer is no.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Our own markers (hidden post marker, ``ml-`` external ids) live in mail/ids.py.
from ..mail.ids import LIST_EXTERNAL_ID_PREFIX, MARKER

# Discourse post types
REGULAR, MODERATOR_ACTION, SMALL_ACTION, WHISPER = 1, 2, 3, 4
EVERYONE_GROUP_ID = 0


@dataclass
class Facts:
    post: dict                      # post_get() merged over the webhook payload
    topic: dict                     # topic_get(): title, archetype, category_id, external_id
    categories: list[dict] = field(default_factory=list)  # the topic's category, then its parents
    from_list: bool = False         # a PostLink with origin "list" exists for this post


def category_is_public(category: dict) -> bool:
    """Readable by everyone: ``read_restricted`` false, or an « everyone » read permission."""
    restricted = category.get("read_restricted")
    if restricted is not None:
        return restricted is False
    for perm in category.get("group_permissions") or []:
        if perm.get("group_name") == "everyone" or perm.get("group_id") == EVERYONE_GROUP_ID:
            return True
    return False


# CategoryGroup.permission_types (app/models/category_group.rb): the lower, the more it may do.
FULL, CREATE_POST, READONLY = 1, 2, 3


def everyone_may(category: dict | None, permission: int) -> bool:
    """Whether the « everyone » group holds PERMISSION or better on CATEGORY, as GET
    /c/{id}/show.json lists it (``group_permissions``; a public category without any row is
    listed with « everyone: full » by CategorySerializer#group_permissions). A category not
    shown, or shown without its permissions: no (when in doubt, the answer is no)."""
    for perm in (category or {}).get("group_permissions") or []:
        if perm.get("group_name") == "everyone" or perm.get("group_id") == EVERYONE_GROUP_ID:
            try:
                return int(perm.get("permission_type")) <= permission
            except (TypeError, ValueError):
                return False
    return False


def theme_of(settings, categories: list[dict]) -> dict | None:
    """The theme whose category is (or is an ancestor of) the topic's category, under PARENT_CATEGORY."""
    for index, category in enumerate(categories):
        parent = categories[index + 1] if index + 1 < len(categories) else None
        if parent is None or (parent.get("name") or "").strip() != settings.PARENT_CATEGORY.strip():
            continue
        for theme in settings.THEMES:
            fields = category.get("custom_fields") or {}
            if (fields.get("forumsync_theme") == theme["slug"] or category.get("slug") == theme["slug"]
                    or (category.get("name") or "").strip() == theme["name"].strip()):
                return theme
    return None


def decide(settings, facts: Facts) -> tuple[bool, str]:
    """(True, reason) when the post must be emailed to the list; (False, why not) otherwise."""
    post, topic = facts.post, facts.topic
    archetype = topic.get("archetype")
    if archetype == "private_message":
        return False, "message privé : jamais envoyé à la liste"
    if archetype != "regular":  # unknown or missing: the forum did not say it is a public topic
        return False, f"nature du sujet inconnue (« {archetype or '?'} ») : jamais relayée"
    post_type = post.get("post_type") or REGULAR
    if post_type == WHISPER:
        return False, "murmure (visible de l'équipe seulement)"
    if post_type != REGULAR:
        return False, "action de modération, pas un message"
    if post.get("deleted_at") or post.get("user_deleted") or topic.get("deleted_at"):
        return False, "message supprimé"
    if post.get("hidden"):
        return False, "message masqué"
    if topic.get("visible") is False:  # « Ne plus lister »: out of every public listing (25th pass)
        return False, "sujet non listé par la modération : jamais relayé"
    if facts.from_list:
        return False, "message venu de la liste (publié par forumsync)"
    if (post.get("post_number") == 1
            and str(topic.get("external_id") or "").startswith(LIST_EXTERNAL_ID_PREFIX)):
        # The opening post of a topic the pipeline made came from the list; replies written
        # on the forum in that topic are the forum's own and go to the list.
        return False, "sujet venu de la liste (external_id ml-…)"
    if MARKER in (post.get("raw") or ""):
        return False, "message publié par forumsync (marqueur)"
    if post.get("via_email"):
        return False, "message arrivé par courriel"
    if (post.get("username") or "").lower() == settings.FORUM_API_USERNAME.lower():
        return False, "message du compte passerelle (publié par forumsync)"
    if not facts.categories:
        return False, "sujet hors catégorie"
    for category in facts.categories:
        if not category_is_public(category):
            return False, f"catégorie « {category.get('name', '?')} » à accès restreint : jamais relayée"
    theme = theme_of(settings, facts.categories)
    if theme is None:
        return False, f"catégorie « {facts.categories[0].get('name', '?')} » hors des thèmes du club"
    if not theme.get("mirrored", True):
        return False, f"thème « {theme['name']} » non relayé vers la liste"
    return True, f"thème « {theme['name']} »"
