"""The local forum's statements built once (prepared.py) read and write what the ORM would."""
from sqlalchemy import select

from forumsync.localforum import alerts, prepared
from forumsync.localforum.models import Notification, Post, utcnow
from forumsync.localforum.serialize_topics import HIGHEST_NUMBER


def _topic(localforum) -> int:
    category = localforum.create_category("Club")
    first = localforum.client().create_post("Premier message du sujet.", category_id=category["id"],
                                            title="Sujet des requêtes préparées")
    return first["topic_id"]


def _pending_post(session, topic_id: int, number: int) -> Post:
    post = Post(topic_id=topic_id, user_id=1, post_number=number, raw="Réponse", cooked="<p>Réponse</p>")
    session.add(post)
    return post


def test_lookups_see_pending_rows_as_the_session_does(localforum):
    """Like session.scalar: a pending post is written first (autoflush), not under
    no_autoflush; the answer is the session's own in both cases."""
    topic_id = _topic(localforum)
    with localforum.session() as s:
        _pending_post(s, topic_id, 7)
        assert prepared.scalar(s, HIGHEST_NUMBER, topic_id=topic_id) == 7
        with s.no_autoflush:
            _pending_post(s, topic_id, 9)
            assert prepared.scalar(s, HIGHEST_NUMBER, topic_id=topic_id) == 7
            assert s.scalar(HIGHEST_NUMBER, {"topic_id": topic_id}) == 7
        assert prepared.scalar(s, HIGHEST_NUMBER, topic_id=topic_id) == 9
        assert prepared.scalar(s, HIGHEST_NUMBER, topic_id=topic_id + 1000) is None
        assert prepared.scalars(s, alerts.AUTHOR_OF_NUMBER, topic_id=topic_id, number=9) == [1]
        assert prepared.first(s, alerts.AUTHOR_OF_NUMBER, topic_id=topic_id, number=8) is None


def test_insert_applies_column_defaults_in_order(localforum):
    topic_id = _topic(localforum)
    before = utcnow()
    with localforum.session() as s:
        one = prepared.insert(s, Notification, {"user_id": 1, "notification_type": 2, "topic_id": topic_id})
        assert prepared.insert(s, Notification, *({"user_id": 1, "notification_type": kind}
                                                  for kind in (9, 5, 9))) is None
        assert prepared.insert(s, Notification) is None
        rows = s.execute(select(Notification.id, Notification.notification_type, Notification.created_at)
                         .where(Notification.id >= one).order_by(Notification.id)).all()
    assert [(row.id - one, row.notification_type) for row in rows] == [(0, 2), (1, 9), (2, 5), (3, 9)]
    assert all(row.created_at >= before for row in rows)  # the model's default, applied by Core


def test_insert_is_undone_with_its_savepoint(localforum):
    """A refused batch item rolls its savepoint back: rows inserted at once go with it."""
    topic_id = _topic(localforum)
    with localforum.session() as s:
        savepoint = s.begin_nested()
        prepared.insert(s, Notification, {"user_id": 1, "notification_type": 2, "topic_id": topic_id})
        savepoint.rollback()
        assert s.scalar(select(Notification.id).where(Notification.topic_id == topic_id)) is None
