"""Issue 12.1: list mail never joins a topic the list may not read or answer.

Whatever names the target — a forum Message-ID, a Message-ID forumsync recorded, a topic
root, a signed reply address, a subject — a mail aimed at a private message, a whisper, a
staff-only category or a category outside the club's themes becomes a new topic in its
theme: nothing is written there, the new post carries no reply number, and the topic it
aimed at is left as it was. The refusal is visible to the operator only."""
from __future__ import annotations

from sqlalchemy import select

from forumsync.localforum.models import Post
from forumsync.outbound.compose import post_message_id
from forumsync.outbound.replykeys import make_reply_address
from tests.fixtures.pipeline import make_mail
from tests.security.service import service, service_any_db  # noqa: F401 - fixtures

SECRET = "Texte réservé à l'équipe : ne pas diffuser"


def _staff_category(service, name="Équipe", parent=None):
    return service.forum.create_category(name, slug=None, parent=parent, permissions={"staff": 1})["id"]


def _assert_new_topic(service, row, forbidden_topic, *, leaked=SECRET):
    """Published as a new topic in a theme category, nothing in the forbidden topic, no trace."""
    assert row.state == "published", row.reason
    assert row.topic_id != forbidden_topic
    post = service.post(row.post_id)
    assert post.post_number == 1 and post.reply_to_post_number is None
    topic = service.topic(row.topic_id)
    assert topic.archetype == "regular" and topic.category_id in service.themes.values()
    assert leaked not in post.raw and leaked not in (post.cooked or "")
    assert all(p.topic_id == forbidden_topic for p in service.posts(forbidden_topic))
    assert not any("forumsync" in p.raw for p in service.posts(forbidden_topic))  # nothing of ours there
    assert "cible refusée à la liste" in row.reason


def test_forum_message_id_of_a_staff_only_topic_opens_a_new_topic(service_any_db):
    service = service_any_db
    staff = _staff_category(service)
    first = service.staff_post(SECRET, title="Réunion de l'équipe d'animation", category_id=staff)
    before = len(service.posts(first.topic_id))
    mail = make_mail("Re: Réunion de l'équipe d'animation", "Je m'invite.\n",
                     sender="Pirate <pirate@evil.example>",
                     in_reply_to=f"<{post_message_id(service.ctx.settings, first.id)}>")
    row = service.deliver(mail)
    _assert_new_topic(service, row, first.topic_id)
    assert len(service.posts(first.topic_id)) == before
    assert "hors des thèmes" not in service.post(row.post_id).raw


def test_private_message_is_never_joined(service):
    service.forum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    pm = service.staff_post(SECRET, title="Votre dossier personnel", private_to="marie")
    mail = make_mail("Re: Votre dossier personnel", "Coucou\n", sender="Pirate <pirate@evil.example>",
                     in_reply_to=f"<{post_message_id(service.ctx.settings, pm.id)}>")
    row = service.deliver(mail)
    _assert_new_topic(service, row, pm.topic_id)
    assert len(service.posts(pm.topic_id)) == 1
    assert "message privé" in row.reason


def test_reply_to_a_whisper_reveals_nothing(service):
    public = service.ctx.forum.topic_create("Question publique sur la SVE", "Bonjour à tous, une question publique.",
                                            service.themes["sve"])
    whisper = service.staff_post(SECRET, topic_id=public["topic_id"], whisper=True)
    assert whisper.post_type == 4
    mail = make_mail("Re: Question publique sur la SVE", "Je réponds au murmure.\n",
                     sender="Pirate <pirate@evil.example>",
                     in_reply_to=f"<{post_message_id(service.ctx.settings, whisper.id)}>")
    row = service.deliver(mail)
    _assert_new_topic(service, row, public["topic_id"])
    post = service.post(row.post_id)
    assert "#2" not in post.raw and "en réponse" not in (post.cooked or "")
    assert [p.post_number for p in service.posts(public["topic_id"])] == [1, 2]
    assert "murmure" in row.reason


def test_whisper_beyond_the_first_posts_of_the_topic_view(service):
    """The topic view lists only the first 20 posts: a whisper further down is still caught."""
    public = service.ctx.forum.topic_create("Long fil public du club", "Bonjour à tous, un long fil public.", service.themes["sve"])
    for n in range(22):
        service.staff_post(f"Réponse numéro {n} pour allonger le fil", topic_id=public["topic_id"])
    whisper = service.staff_post(SECRET, topic_id=public["topic_id"], whisper=True)
    assert whisper.post_number > 20
    row = service.deliver(make_mail("Re: Long fil public du club", "Et alors ?\n",
                                    in_reply_to=f"<{post_message_id(service.ctx.settings, whisper.id)}>"))
    _assert_new_topic(service, row, public["topic_id"])


def test_recorded_message_id_of_a_topic_moved_to_a_staff_category(service):
    """A list topic a lead moved into a staff-only category: replies naming its Message-ID
    (recorded by forumsync) no longer go there."""
    # 15 characters at least: Discourse validates the title again when the category changes
    # (Topic: validates :title, if: category_id_changed?), a shorter one could not be moved
    first = service.deliver(make_mail("Sujet très sensible", "Premier message\n",
                                      message_id="<racine-sensible@meyzieu.fr>"))
    assert first.state == "published"
    service.move_topic(first.topic_id, _staff_category(service))
    reply = service.deliver(make_mail("Re: Sujet très sensible", "Je suis dehors.\n",
                                      sender="Pirate <pirate@evil.example>",
                                      in_reply_to="<racine-sensible@meyzieu.fr>"))
    _assert_new_topic(service, reply, first.topic_id)
    assert len(service.posts(first.topic_id)) == 1


def test_subject_match_with_a_topic_moved_out_of_the_themes(service):
    first = service.deliver(make_mail("Budget annuel du club", "Chiffres\n"))
    hors_club = service.forum.create_category("Hors club", slug="hors-club")["id"]
    service.move_topic(first.topic_id, hors_club)
    reply = service.deliver(make_mail("Re: Budget annuel du club", "Et les chiffres 2027 ?\n"))
    assert reply.state == "published", reply.reason
    assert reply.topic_id != first.topic_id
    assert "hors des thèmes" in reply.reason
    assert len(service.posts(first.topic_id)) == 1


def test_topic_root_of_a_restricted_topic(service):
    """An orphan reply opened a topic under its root's id; once that topic is staff-only, a
    mail claiming to be the root does not join it (nor get linked to its first post)."""
    # 15 characters at least: moving the topic validates its title again (see above)
    orphan = service.deliver(make_mail("Re: Racine toujours absente", "Réponse orpheline\n",
                                       in_reply_to="<racine-absente@meyzieu.fr>"))
    assert orphan.state == "published"
    service.move_topic(orphan.topic_id, _staff_category(service))
    root = service.deliver(make_mail("Racine toujours absente", "Je suis la racine.\n",
                                     sender="Pirate <pirate@evil.example>",
                                     message_id="<racine-absente@meyzieu.fr>"))
    assert root.state == "published", root.reason
    assert root.topic_id != orphan.topic_id
    post = service.post(root.post_id)
    assert post.post_number == 1 and "Je suis la racine" in post.raw
    assert len(service.posts(orphan.topic_id)) == 1


def test_signed_reply_address_of_a_topic_moved_to_staff(service):
    """A welcome topic (Présentations) takes its signed replies — until staff move it."""
    presentations = service.forum.create_category("Présentations", slug="presentations")["id"]
    sender = "anne.roux@ville-exemple.fr"
    ok_topic = service.ctx.forum.topic_create("Bienvenue à Anne Roux", "Présentez-vous en quelques lignes.", presentations)
    address = make_reply_address(service.ctx.settings, sender, ok_topic["topic_id"])
    welcome_reply = service.deliver(make_mail("Re: Bienvenue", "Je suis Anne.\n",
                                              sender=f"Anne Roux <{sender}>", to=address), rcpt=address)
    assert welcome_reply.state == "published" and welcome_reply.topic_id == ok_topic["topic_id"]

    moved = service.ctx.forum.topic_create("Bienvenue à Anne Roux (bis)", "Présentez-vous en quelques lignes.", presentations)
    service.move_topic(moved["topic_id"], _staff_category(service))
    address = make_reply_address(service.ctx.settings, sender, moved["topic_id"])
    row = service.deliver(make_mail("Re: Bienvenue", "Encore moi.\n", sender=f"Anne Roux <{sender}>",
                                    to=address), rcpt=address)
    _assert_new_topic(service, row, moved["topic_id"])
    assert len(service.posts(moved["topic_id"])) == 1


def test_public_theme_replies_still_thread_without_extra_forum_requests(service):
    """Control: a reply in a public theme topic is threaded, and the check costs no request
    beyond the topic view publish reads anyway (one per reply here: batches of one)."""
    first = service.deliver(make_mail("Paramétrage SVE", "Question\n", message_id="<sve-1@meyzieu.fr>"))
    topic_path = f"/t/{first.topic_id}.json"
    before = service.forum.requests.count_of("GET", topic_path)
    reply = service.deliver(make_mail("Re: Paramétrage SVE", "Réponse\n", in_reply_to="<sve-1@meyzieu.fr>"))
    assert reply.state == "published" and reply.topic_id == first.topic_id
    assert service.post(reply.post_id).reply_to_post_number == 1
    assert service.forum.requests.count_of("GET", topic_path) - before == 1
    posts_read = sum(1 for method, path in service.forum.requests if method == "GET" and path.startswith("/posts/"))
    assert posts_read == 0


def test_refusals_are_visible_in_inbox_list(service):
    staff = _staff_category(service)
    first = service.staff_post(SECRET, title="Réunion interne de l'équipe", category_id=staff)
    row = service.deliver(make_mail("Re: Réunion interne", "Bonjour\n",
                                    in_reply_to=f"<{post_message_id(service.ctx.settings, first.id)}>"))
    listing = service.inbox_list()
    assert str(row.id) in listing
    assert "cible refusée" in listing


def test_staff_only_subcategory_of_a_theme(service):
    """A restricted subcategory under a theme is still restricted (every parent and child
    must be public)."""
    sub = _staff_category(service, "Recensement", parent=service.themes["sve"])
    first = service.staff_post(SECRET, title="Recensement des logiciels", category_id=sub)
    row = service.deliver(make_mail("Re: Recensement des logiciels", "?\n",
                                    in_reply_to=f"<{post_message_id(service.ctx.settings, first.id)}>"))
    _assert_new_topic(service, row, first.topic_id)
    with service.forum.session() as s:
        assert s.scalar(select(Post.id).where(Post.topic_id == first.topic_id, Post.post_number == 2)) is None


def test_history_import_trusts_only_what_forumsync_recorded(service):
    """import-mbox (channel mbox) replies to a topic forumsync opened, still recorded in a
    theme: no live check needed. Once the topic_edited webhook recorded the move into a
    staff category, an imported reply opens a new topic instead."""
    from forumsync.forum import event_handlers

    first = service.deliver(make_mail("Historique du club", "Premier\n", message_id="<histo-1@meyzieu.fr>"))
    service.pipe.feed(make_mail("Re: Historique du club", "Deuxième\n", message_id="<histo-2@meyzieu.fr>",
                                in_reply_to="<histo-1@meyzieu.fr>"), channel="mbox")
    service.pipe.run()
    assert service.pipe.post_link("histo-2@meyzieu.fr").topic_id == first.topic_id

    staff = _staff_category(service)
    service.move_topic(first.topic_id, staff)
    event_handlers.topic_edited(service.ctx, {"id": first.topic_id}, {})  # what the webhook handler does
    assert service.pipe.topic_link(first.topic_id).category_id == staff
    inbox_id = service.pipe.feed(make_mail("Re: Historique du club", "Troisième\n",
                                           message_id="<histo-3@meyzieu.fr>",
                                           in_reply_to="<histo-2@meyzieu.fr>"), channel="mbox")
    service.pipe.run()
    row = service.pipe.row(inbox_id)
    _assert_new_topic(service, row, first.topic_id)
    assert len(service.posts(first.topic_id)) == 2
