"""Red team, twentieth pass: what a forum member makes the list send.

- Size: a post is bounded by the forum in *raw* characters (max_post_length, 32,000), not in
  what it cooks to. A reference link costs six characters (``[x][r]``) and cooks to its whole
  destination each time: 300 of them to a 20,000-character address cooked to 6 MB of HTML, and
  the list mail (HTML and its plain-text twin) weighed 12.5 MB. The list mail now carries the
  beginning and says the rest is on the forum (``bodies.bounded_html``).
- Names: a forum display name is free text, not unique: anyone may register as « Marie Dupré »
  or « Équipe Bistro ». The list mail's From showed the display name alone, so a namesake's mail
  read byte for byte as Marie's; the unique username now comes first, before any name that is
  not it (``compose.bridge_from``).
- Bidi controls of a title or a name reached Subject and X-Original-From (« Facture
  \u202efdp.exe » shows as « Facture exe.pdf »): ``headers.one_line`` drops them.

Through the local forum, its signed webhook, the worker and a real SMTP sink.
"""
import email
from email import policy

import pytest
from sqlalchemy import select

from forumsync.mail.inert import BIDI
from forumsync.models import OutboxMail

LIMIT = 2 * 1024 * 1024  # generous: a 32 000-character post needs far less than this


@pytest.fixture
def env(sqlite_bridge):
    return sqlite_bridge


def test_a_small_post_never_becomes_a_list_mail_of_many_megabytes(env):
    url = "https://example.org/" + "a" * 20000
    raw = "Bonjour, voici les liens : " + " ".join(["[x][r]"] * 300) + f"\n\n[r]: {url}\n"
    assert len(raw) < 32000  # within the forum's max_post_length: any member may post it
    post = env.topic("marie", "Liens utiles pour la SVE", raw)
    assert len(post["cooked"]) > 5_000_000  # what the forum cooked it to (not forumsync's doing)
    env.process()
    with env.ctx.db.session() as session:
        queued = {m.key: len(m.raw) for m in session.scalars(select(OutboxMail))}
    sent = [len(data) for _, _, data in env.sink.messages]
    # Either the post reaches the list in a bounded form, or it is held back with its reason:
    # never a mail of several megabytes to every subscriber.
    assert all(size <= LIMIT for size in queued.values()), queued
    assert all(size <= LIMIT for size in sent), sent
    # the list mail says where the rest is
    [(_, _, sent_mail)] = env.sink.messages
    text = email.message_from_bytes(sent_mail, policy=policy.default).get_body(("plain",)).get_content()
    assert "Message trop long pour la liste" in text


def _from_names(env):
    out = {}
    for _, _, raw in env.sink.messages:
        mail = email.message_from_bytes(raw, policy=policy.default)
        out[str(mail["Subject"])] = mail["From"].addresses[0].display_name
    return out


def test_a_newcomer_named_like_a_member_is_told_apart_in_the_list_mail(env):
    # « marie » (Marie Dupré) is a member of the bridge's fixture; mallory registers under her name
    env.forum.create_user("mallory", "mallory@evil.example", "Marie Dupré")
    env.topic("marie", "Compte rendu de la réunion SVE", "Voici le compte rendu de jeudi.")
    env.topic("mallory", "Nouveau RIB pour la cotisation", "Merci de virer la cotisation sur ce RIB.")
    env.process()
    names = _from_names(env)
    real, fake = names["Compte rendu de la réunion SVE"], names["Nouveau RIB pour la cotisation"]
    assert real == "marie - Marie Dupré (via Bistro)" and fake.startswith("mallory - ")
    assert fake != real, f"mallory's mail reads as Marie's: From {fake!r}"


@pytest.mark.parametrize("name", ["Équipe Bistro", "Administrateur du forum"])
def test_a_member_named_like_the_forums_team_is_marked_in_the_list_mail(env, name):
    env.forum.create_user("mallory", "mallory@evil.example", name)
    env.topic("mallory", "Changement de mot de passe obligatoire", "Cliquez sur ce lien.")
    env.process()
    [shown] = _from_names(env).values()
    assert shown != f"{name} (via Bistro)", f"From reads as the team's own: {shown!r}"


def test_bidi_controls_of_a_forum_title_or_name_never_reach_the_list_mail_headers(env):
    env.forum.create_user("mallory", "mallory@evil.example", "Paul \u202eniatreM")
    env.topic("mallory", "Facture de la cotisation \u202efdp.exe", "Ci-joint la facture de cette année.")
    env.process()
    [(_, _, raw)] = env.sink.messages
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert not BIDI.search(str(mail["Subject"])), repr(str(mail["Subject"]))
    assert not BIDI.search(str(mail["X-Original-From"])), repr(str(mail["X-Original-From"]))
