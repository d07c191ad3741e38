"""Who posts a mirrored message: the sender's forum account, else the bridge with attribution."""
from forumsync.localforum import users as lf_users
from tests.fixtures.pipeline import make_mail


def test_forum_user_with_that_email_posts_it(pipe):
    pipe.ctx.forum.user_create("Marie Dupont", "marie", "marie.dupont@meyzieu.fr", "motdepasse-long-42")
    row = pipe.send(make_mail("Question de Marie"))
    post = pipe.post(row.post_id)
    assert post["username"] == "marie"
    assert "transmis depuis la liste" not in post["raw"]


def test_unknown_sender_is_a_staged_user_when_the_forum_has_the_plugin(pipe):
    row = pipe.send(make_mail("Question d'une inconnue", sender="Anne Roux <anne.roux@ville-exemple.fr>"))
    post = pipe.post(row.post_id)
    assert post["username"] != pipe.ctx.settings.FORUM_API_USERNAME
    assert post["name"] == "Anne Roux"
    assert "transmis depuis la liste" not in post["raw"]
    with pipe.localforum.session() as session:
        assert lf_users.user_by_email(session, "anne.roux@ville-exemple.fr").staged is True
    again = pipe.send(make_mail("Re: Question d'une inconnue", "Merci !", sender="Anne Roux <anne.roux@ville-exemple.fr>",
                                in_reply_to=f"<{row.message_id}>"))
    assert pipe.post(again.post_id)["username"] == post["username"]
    assert pipe.ctx.forum.post_by_message_id(f"<{row.message_id}>")["id"] == row.post_id


def test_unknown_sender_is_posted_by_the_bridge_with_an_attribution(bridge_pipe):
    pipe = bridge_pipe
    row = pipe.send(make_mail("Question d'un inconnu", sender="Jean Martin <jean.martin@ville-exemple.fr>"))
    post = pipe.post(row.post_id)
    assert post["username"] == pipe.ctx.settings.FORUM_API_USERNAME
    first_line = post["raw"].splitlines()[0]
    assert first_line.startswith("*Message de Jean Martin (")
    assert first_line.endswith("transmis depuis la liste Club Publik*")
    assert "jean.martin@" not in post["raw"]  # EXPOSE_AUTHOR_EMAIL is off


def test_webmail_domain_is_not_an_organisation(bridge_pipe):
    pipe = bridge_pipe
    row = pipe.send(make_mail("Question webmail", sender="Paul <paul.durand@gmail.com>"))
    assert "*Message de Paul transmis depuis la liste Club Publik*" in pipe.post(row.post_id)["raw"]


def test_user_lookups_are_cached(pipe):
    """One lookup by email per sender, and one read of the member list (look-alike names)
    for the whole run, not one per message."""
    def count(prefix):
        return sum(1 for _, path in pipe.localforum.requests if path.startswith(prefix))

    before = count("/admin/users/list/all"), count("/admin/users/list/active")
    for n in range(3):
        pipe.send(make_mail(f"Question numéro {n}", sender="Luc <luc@grandlyon.fr>"))
    assert count("/admin/users/list/all") - before[0] == 1
    assert count("/admin/users/list/active") - before[1] == 1


def test_a_theme_closed_to_everyone_sends_the_topic_to_the_default_theme_never_the_bridge(pipe):
    """The bridge (an admin) once opened the topic in a staff-only theme for a member the forum
    refused there: mail never writes where its sender could not (red-team pass 14)."""
    pipe.ctx.forum.user_create("Marie Dupont", "marie", "marie.dupont@meyzieu.fr", "motdepasse-long-42")
    pipe.ctx.forum.category_update(pipe.themes["sve"], permissions={"staff": 1})
    row = pipe.send(make_mail("[SVE] Réservé à l'équipe"))
    assert row.state == "published", row.reason
    post = pipe.post(row.post_id)
    assert post["username"] == "marie"
    assert pipe.topic(row.topic_id)["category_id"] == pipe.themes[pipe.ctx.settings.DEFAULT_THEME]


def test_sender_the_plugin_refuses_to_stage_is_posted_by_the_bridge(pipe):
    # The plugin refuses the staged post (422, e.g. an address it finds invalid): the bridge
    # account posts it with the attribution line rather than quarantining the message.
    pipe.localforum.faults.fail(422, count=1, method="POST", path=r"^/forumsync/posts")
    row = pipe.send(make_mail("Question refusée par le greffon",
                              sender="Paul Girard <paul.girard@ville-exemple.fr>"))
    assert row.state == "published", row.reason
    post = pipe.post(row.post_id)
    assert post["username"] == pipe.ctx.settings.FORUM_API_USERNAME
    assert post["raw"].splitlines()[0].startswith("*Message de Paul Girard")


def test_the_poster_is_decided_once_from_the_facts_found_before(settings):
    """``author`` alone sets the poster, from ``sender``'s facts and a refusal of the poster
    (``fall_back``), never from the topic's state; run again (publish follows a vanished
    topic), it keeps the bridge's attribution line as first written."""
    from types import SimpleNamespace

    from forumsync.pipeline import author

    ctx, bridge = SimpleNamespace(settings=settings), settings.FORUM_API_USERNAME
    base = dict(from_name="Anne Roux", from_email="anne@ville-exemple.fr", topic_id=7)
    staged = dict(base, sender_account=None, sender_staged=True, topic_closed=None)
    author.process(ctx, None, staged)
    assert (staged["username"], staged["staged"], staged["attribution"]) == (None, True, None)
    member = dict(base, sender_account="anne", sender_staged=False, topic_closed=None)
    author.process(ctx, None, member)
    assert (member["username"], member["staged"], member["attribution"]) == ("anne", False, None)
    closed = dict(member, topic_closed="archived")  # never the bridge's admin rights for that
    author.process(ctx, None, closed)
    assert (closed["username"], closed["staged"]) == ("anne", False)
    refused = dict(member)
    assert author.fall_back(ctx, refused) is True  # the forum refused her account
    assert (refused["username"], refused["staged"]) == (bridge, False)
    assert refused["attribution"].startswith("*Message d'Anne Roux (ville-exemple\\.fr)")  # no link: the dot escaped
    assert author.fall_back(ctx, staged) is True  # the forum refused the staged user
    assert (staged["username"], staged["staged"], staged["poster_refused"]) == (bridge, False, True)
    line = staged["attribution"]
    staged["from_name"] = "Anne Roux (autre nom)"
    author.process(ctx, None, staged)  # decided again: still the bridge, the line kept
    assert (staged["username"], staged["attribution"]) == (bridge, line)
    assert author.fall_back(ctx, staged) is False  # nothing left to fall back to
    own_bridge = dict(base, sender_account=bridge, sender_staged=False, topic_closed="closed")
    author.process(ctx, None, own_bridge)  # the bridge's own address: no attribution line
    assert (own_bridge["username"], own_bridge["attribution"]) == (bridge, None)
    nobody = dict(base, sender_account=None, sender_staged=False, topic_closed=None)
    author.process(ctx, None, nobody)
    assert nobody["username"] == bridge and "Anne Roux" in nobody["attribution"]
