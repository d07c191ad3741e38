"""The test rig's local forum (forumsync/testing/localforum.py): a forum that reuses the Flask
app of a stopped one starts from nothing — no data, faults, limits or webhooks of the last."""
from __future__ import annotations

import requests

from forumsync.testing.localforum import RunningForum


def _category_names(forum) -> set[str]:
    body = requests.get(forum.url + "/categories.json", headers=forum.headers(), timeout=5).json()
    return {c["name"] for c in body["category_list"]["categories"]}


def test_a_reused_app_serves_a_fresh_forum(tmp_path):
    first = RunningForum(tmp_path, rate_limit=5)
    first.create_category("Héritage du test précédent")
    first.create_user("marie", "marie@example.org", "Marie")
    first.faults.fail(503, count=99, path=r"^/posts")
    for _ in range(6):
        requests.get(first.url + "/site.json", headers=first.headers(), timeout=5)
    assert first.forum.limiter.refused == 1
    app = first.app
    first.release()

    second = RunningForum(tmp_path, rate_limit=60)
    try:
        assert second.app is app  # the same Flask app, a new forum in it
        assert "Héritage du test précédent" not in _category_names(second)
        assert second.forum.limiter.refused == 0 and second.forum.limiter.per_minute == 60
        assert len(second.requests) == 1  # only the request above: the log starts empty
        assert requests.get(second.url + "/u/marie.json", headers=second.headers(),
                            timeout=5).status_code == 404
        category = second.create_category("Neuve")
        # the plugin's own table (created when the app was first built) is there and empty
        answer = requests.post(second.url + "/forumsync/posts.json", headers=second.headers(),
                               timeout=5, json={
                                   "title": "Un sujet tout neuf ici", "category": category["id"],
                                   "raw": "Un message assez long pour le forum.",
                                   "email": "paul@example.org", "name": "Paul",
                                   "message_id": "<neuf@x>"})
        assert answer.status_code == 201, answer.text
        assert answer.json()["created"] is True
    finally:
        second.release()


def test_a_forum_on_its_own_database_file_gets_a_new_app(tmp_path):
    first = RunningForum(tmp_path)
    pooled = first.app
    first.release()
    own = RunningForum(tmp_path, LOCALFORUM_DATABASE_URL=f"sqlite:///{tmp_path / 'own.sqlite3'}")
    try:
        assert own.app is not pooled
        assert "Uncategorized" in _category_names(own)
        assert requests.get(own.url + "/forumsync/posts/by-message-id.json",
                            params={"message_id": "<rien@x>"}, headers=own.headers(),
                            timeout=5).status_code == 404  # the plugin's table was created
    finally:
        own.release()
