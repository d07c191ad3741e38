"""Red team, pass 13: a reply by mail lands in a category where its sender may not post.

A theme subcategory open to everyone for reading only (« Annonces » of a theme: Discourse
permission « everyone: see », 3) is public, under the theme, and so passes the ``access``
stage. The sender's post is refused by the forum (403: category permissions), and
``refusal_policy`` then falls back to the bridge account, which is an admin and may post
anywhere: the outsider's text is published in the read-only category.

Expected: list mail never writes where its sender could not; such a reply is treated like
one aimed at a restricted category (a new topic in its theme, or held), never posted there.
"""
from __future__ import annotations

from forumsync.outbound.compose import post_message_id
from tests.fixtures.pipeline import make_mail
from tests.security.service import bridge_service, service  # noqa: F401 - fixtures


def _reply_in_read_only_subcategory(service):
    announcements = service.forum.create_category(
        "Annonces SVE", slug="annonces-sve", parent=service.themes["sve"],
        permissions={"everyone": 3, "staff": 1})["id"]
    first = service.staff_post("Annonce officielle : la version 12 sort lundi prochain.",
                               title="Annonce : sortie de la version 12", category_id=announcements)
    mail = make_mail("Re: Annonce : sortie de la version 12",
                     "Faux complément : la sortie est annulée, voir http://evil.example\n",
                     sender="Pirate <pirate@evil.example>",
                     in_reply_to=f"<{post_message_id(service.ctx.settings, first.id)}>")
    row = service.deliver(mail)
    return first, row


def _assert_not_posted(service, first, row):
    posts = service.posts(first.topic_id)
    assert [p.id for p in posts] == [first.id], (
        f"posted in the read-only category by user {[p.user_id for p in posts[1:]]}: {row.state} — {row.reason} — {posts[-1].raw[:300]!r}")


def test_with_the_plugin_a_staged_post_is_not_written_there(service):
    """Plugin path: the staged post is created with skip_guardian."""
    _assert_not_posted(service, *_reply_in_read_only_subcategory(service))


def test_without_the_plugin_the_bridge_does_not_post_it_there(bridge_service):
    """No plugin: the forum refuses the poster (403), the bridge (admin) posts it instead."""
    _assert_not_posted(bridge_service, *_reply_in_read_only_subcategory(bridge_service))
