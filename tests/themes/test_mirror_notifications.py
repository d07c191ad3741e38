"""Theme categories are mailing-list mirrors (plugin/README.md, docs/themes.md): `forumsync
provision` sets ``mailinglist_mirror`` on them, so a reply written on the forum notifies no
staged list member (on Discourse, PostAlerter would mail them a second copy of what the list
already sends). Goes through provision → list mail → forum reply → notifications."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from forumsync.localforum.models import Category, Topic, TopicUser
from forumsync.localforum import users as lf_users
from forumsync.themes.provision import provision
from tests.fixtures.pipeline import make_mail, make_pipe

# provision runs ~35 admin requests; raised as an operator would (see tests/themes/test_provision.py)
pytestmark = pytest.mark.admin_api_limit(600)


def _notifications(forum, username):
    answer = requests.get(f"{forum.url}/notifications.json", params={"username": username},
                          headers=forum.headers(), timeout=10)
    assert answer.status_code == 200
    return answer.json()["notifications"]


def _reply_on_forum(forum, topic_id):
    answer = requests.post(f"{forum.url}/posts.json", headers=forum.headers(), timeout=10, json={
        "topic_id": topic_id, "reply_to_post_number": 1,
        "raw": "Réponse écrite sur le forum par l'équipe du club."})
    assert answer.status_code == 200, answer.text


def test_provisioned_theme_category_is_a_mirror_and_staged_member_gets_no_notification(
        tmp_path, sqlite_url, localforum):
    localforum.set_site_setting("enable_category_group_moderation", True)
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum)
    try:
        provision(ctx)
        row = pipe.send(make_mail("Question sur la SVE des véhicules",
                                  "Bonjour,\n\nComment faites-vous pour la SVE ?\n\nMarie\n"))
        assert row.post_id is not None, row.error
        topic_id = pipe.post(row.post_id)["topic_id"]
        with localforum.session() as s:
            marie = lf_users.user_by_email(s, "marie.dupont@meyzieu.fr")
            topic_category = s.get(Category, s.get(Topic, topic_id).category_id)
            assert marie.staged is True
            assert topic_category.mailinglist_mirror is True
            # the plugin posts with auto_track: false: she does not watch the topic, but a
            # reply to her post would still notify her (PostAlerter) but for the mirror
            assert s.scalar(select(TopicUser.notification_level).where(
                TopicUser.user_id == marie.id, TopicUser.topic_id == topic_id)) is None
            username, category_id = marie.username, topic_category.id
        _reply_on_forum(localforum, topic_id)
        assert _notifications(localforum, username) == []

        # the same topic outside a mirror notifies her: the check above can fail
        with localforum.session() as s:
            s.get(Category, category_id).mailinglist_mirror = False
        _reply_on_forum(localforum, topic_id)
        assert [n["notification_type"] for n in _notifications(localforum, username)] == [2]  # replied

        # a second provision run notices the hand edit (drift) and compares the flag
        result = provision(ctx)
        assert [(c.field, c.before, c.after, c.drift) for c in result.changes] == [
            ("mailinglist_mirror", False, True, True)]
    finally:
        ctx.close()


def test_second_provision_run_writes_no_mirror_flag_again(tmp_path, sqlite_url, localforum):
    localforum.set_site_setting("enable_category_group_moderation", True)
    ctx, _pipe = make_pipe(tmp_path, sqlite_url, localforum)
    try:
        provision(ctx)
        with localforum.session() as s:
            mirrors = {c.slug: c.mailinglist_mirror for c in s.scalars(select(Category))
                       if c.parent_category_id is not None}
        assert mirrors and all(mirrors.values())
        writes = ctx.forum.stats["writes"]
        assert provision(ctx).changes == []
        assert ctx.forum.stats["writes"] == writes
    finally:
        ctx.close()
