"""A list mail held for approval on the forum ends "dropped" with its reason in `inbox list`,
never "published" with no post id, never re-posted by the bridge account."""
from sqlalchemy import select

from forumsync.localforum.models import Category, Post
from tests.fixtures.inbound import run_cli, write_settings_file
from tests.fixtures.pipeline import make_mail


def test_enqueued_mail_is_dropped_with_reason_and_listed(pipe, localforum, tmp_path):
    pipe.ctx.forum.user_create("Marie Dupont", "marie", "marie.dupont@meyzieu.fr",
                               "motdepasse-long-42")
    with localforum.session() as s:
        sve = s.get(Category, pipe.themes["sve"])
        sve.custom_fields = {**(sve.custom_fields or {}), "require_topic_approval": "true"}
    row = pipe.send(make_mail("[SVE] Question soumise à validation", "Bonjour, une question.",
                              sender="Marie Dupont <marie.dupont@meyzieu.fr>",
                              message_id="<attente1@meyzieu.fr>"))
    assert row.state == "dropped"
    assert "en attente de validation sur le forum" in row.reason
    assert row.post_id is None
    with localforum.session() as s:
        assert s.scalar(select(Post.id).where(Post.raw.contains("une question"))) is None
    listing = run_cli(write_settings_file(tmp_path, pipe.ctx.settings), "inbox", "list")
    assert listing.returncode == 0, listing.stderr
    assert "en attente de validation" in listing.stdout.decode()
