"""Stage dedupe: a Message-ID already linked to a forum post is never published again."""
from forumsync.models import PostLink
from tests.fixtures.pipeline import make_mail


def test_forum_post_coming_back_through_the_list_is_dropped(pipe):
    created = pipe.ctx.forum.topic_create("Écrit sur le forum", "Bonjour depuis le forum.",
                                          pipe.themes["general"])
    message_id = f"discourse/post/{created['id']}@{pipe.ctx.settings.forum_host}"
    with pipe.ctx.db.session() as session:
        session.add(PostLink(message_id=message_id, post_id=created["id"],
                             topic_id=created["topic_id"], post_number=1, origin="forum"))
    row = pipe.send(make_mail("Écrit sur le forum", "Bonjour depuis le forum.",
                              message_id=f"<{message_id}>"))
    assert row.state == "dropped"
    assert row.reason == f"déjà publié (doublon) : message {created['id']} du sujet {created['topic_id']}"
    assert len(pipe.topic(created["topic_id"])["post_stream"]["posts"]) == 1


def test_message_without_message_id_is_published_once(pipe):
    raw = make_mail("Sans identifiant").replace(b"Message-ID:", b"X-Old-Message-ID:")
    first = pipe.send(raw, channel="lmtp")
    assert first.message_id.startswith("sha256:") and first.state == "published"
    pipe.feed(raw.replace(b"\n", b"\r\n"), channel="http")
    pipe.run()
    assert len(pipe.rows()) == 1
    assert pipe.post_writes() == 1
