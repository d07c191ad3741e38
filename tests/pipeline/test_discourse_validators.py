"""List mail through the core API (no plugin) meets Discourse's PostValidator and topic title
validators (52nd pass): what forumsync does with each refusal. The local forum applies them
(tests/localforum/test_strictness.py)."""
from datetime import timedelta

from sqlalchemy import delete, update

from forumsync.models import InboxMessage, PostLink, utcnow
from tests.fixtures.pipeline import later, make_mail, make_pipe


def _member_pipe(tmp_path, sqlite_url, localforum):
    """Marie has a forum account (not staff): her mail is posted as her, through the core API."""
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    # her topic and her reply a second apart: Discourse's per-user delays (5 s, 15 s) would
    # only make the test wait; they are checked in tests/localforum/test_strictness.py
    localforum.set_site_setting("rate_limit_create_post", 0)
    localforum.set_site_setting("rate_limit_create_topic", 0)
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=False)
    pipe.provision()
    return ctx, pipe


def test_a_post_the_forum_already_holds_is_linked_never_posted_twice(tmp_path, sqlite_url,
                                                                     localforum):
    """PostValidator#unique_post_validator: the same raw from the same account within
    unique_posts_mins is refused. forumsync's raw carries the message's marker, so such a
    refusal means an earlier attempt wrote it (here: its record lost, the row tried again as
    a first attempt, which skips ``reconcile``): the post is found and linked; before, the
    refusal was read as « body too short » and a note made the raw new: posted twice."""
    ctx, pipe = _member_pipe(tmp_path, sqlite_url, localforum)
    try:
        root = pipe.send(make_mail("Réunion du club de jeudi", message_id="<u0@a.fr>"))
        assert root.state == "published", root.reason
        reply = pipe.send(make_mail("Re: Réunion du club de jeudi", "J'y serai, avec le rapport.",
                                    message_id="<u1@a.fr>", in_reply_to="<u0@a.fr>",
                                    date=later(minutes=5)))
        assert reply.state == "published", reply.reason
        assert pipe.post(reply.post_id)["username"] == "marie"
        writes = pipe.post_writes()
        with ctx.db.session() as session:  # the answer lost: nothing recorded, a first attempt
            session.execute(delete(PostLink).where(PostLink.message_id == "u1@a.fr"))
            session.execute(update(InboxMessage).where(InboxMessage.id == reply.id).values(
                state="retry", attempts=0, post_id=None, next_attempt_at=utcnow() - timedelta(seconds=1)))
        pipe.run()
        again = pipe.row(reply.id)
        assert again.state == "published", again.reason
        assert again.post_id == reply.post_id
        topic = pipe.topic(root.topic_id)
        assert [p["id"] for p in topic["post_stream"]["posts"]] == [root.post_id, reply.post_id]
        assert pipe.post_writes() == writes + 1  # the refused write, nothing more
    finally:
        ctx.close()


def test_a_member_answering_a_fourth_time_in_a_row_is_published_by_the_bridge(tmp_path, sqlite_url,
                                                                             localforum):
    """PostValidator#force_edit_last_validator: a member who wrote the topic's last three
    posts (max_consecutive_replies) may not add a fourth while they may still edit the last.
    A list member does answer several times in a row; the mail reached the list: the forum's
    copy of the thread gets it too, posted by the bridge account with the attribution line
    (the fallback for a refused account, where everyone may write), one refused write. The
    mails are of today: a post dated from an older mail can no longer be edited
    (post_edit_time_limit, 24 h), and Discourse lets the next reply through."""
    ctx, pipe = _member_pipe(tmp_path, sqlite_url, localforum)
    paul = "Paul Martin <paul.martin@exemple.fr>"  # no account: the bridge opens the topic
    now = utcnow() - timedelta(minutes=10)
    try:
        root = pipe.send(make_mail("Sortie vélo de dimanche", message_id="<c0@a.fr>", sender=paul,
                                   date=now))
        assert root.state == "published", root.reason
        replies = []
        for n in range(4):
            row = pipe.send(make_mail("Re: Sortie vélo de dimanche", f"Précision numéro {n} de Marie.",
                                      message_id=f"<c{n + 1}@a.fr>", in_reply_to="<c0@a.fr>",
                                      date=now + timedelta(minutes=n + 1)))
            assert row.state == "published", row.reason
            replies.append(pipe.post(row.post_id))
        assert [p["username"] for p in replies[:3]] == ["marie"] * 3
        bridge = ctx.settings.FORUM_API_USERNAME
        assert replies[3]["username"] == bridge
        assert replies[3]["raw"].startswith("*Message de Marie Dupont (Meyzieu) transmis depuis la liste")
        assert "Précision numéro 3 de Marie." in replies[3]["raw"]
        assert pipe.post_writes() == 1 + 4 + 1  # the fourth reply's refused write
    finally:
        ctx.close()


def test_a_subject_in_capitals_is_the_title_discourse_writes(bridge_pipe):
    """Topic's before_validation (title_prettify, on by default): a subject all in capitals,
    common in list mail, is lowercased with its first capital, « !!! » one « ! »; the forum
    accepts it as it rewrote it: one write, no refusal."""
    row = bridge_pipe.send(make_mail("URGENT : PANNE DU PORTAIL !!!", "Le portail ne répond plus.",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    assert bridge_pipe.topic(row.topic_id)["title"] == "Urgent : panne du portail !"
    assert bridge_pipe.post_writes() == 1


def test_a_subject_in_capitals_where_the_forum_refuses_them_keeps_its_words(bridge_pipe):
    """With title_prettify off (and allow_uppercase_posts off), Discourse refuses a title
    with no lowercase letter (« Title seems unclear, did you mean to enter it in ALL CAPS? »).
    forumsync reads the rules with the lengths and foresees it: the title is written in
    sentence case as Discourse itself would, the subject as sent is quoted in a French note:
    one write, nothing lost."""
    bridge_pipe.localforum.set_site_setting("title_prettify", False)
    row = bridge_pipe.send(make_mail("URGENT : PANNE DU PORTAIL", "Le portail ne répond plus.",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    assert bridge_pipe.topic(row.topic_id)["title"] == "Urgent : panne du portail"
    raw = bridge_pipe.post(row.post_id)["raw"]
    assert ("*(objet du message tel qu'envoyé à la liste, tout en capitales, que le forum refuse "
            "en titre : « URGENT : PANNE DU PORTAIL »)*") in raw
    assert bridge_pipe.post_writes() == 1
    # the subject quoted is the sender's text: inert in the note (an address, a mention)
    row = bridge_pipe.send(make_mail("VOIR HTTPS://PORTAIL.EXEMPLE.FR @ADMIN", "Le portail ne répond plus.",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    raw = bridge_pipe.post(row.post_id)["raw"]
    assert "« VOIR <HTTPS://PORTAIL.EXEMPLE.FR> @\u200bADMIN »" in raw


def test_a_subject_quoted_in_a_note_is_rewritten_inert_never_quarantined(bridge_pipe):
    """The subject quoted in the capitals note is the sender's text: an address glued to
    « = », « $ », « ^ » or « | » (a BBCode « [URL=HTTPS://…] ») is one markdown-it's linkify
    makes live and ``inline_markdown`` left bare; checked as a note (kept whole), it sent
    the message to quarantine (« contenu actif … onebox »). Checked as the post's text, it
    is written as an explicit link: published."""
    bridge_pipe.localforum.set_site_setting("title_prettify", False)
    for n, subject in enumerate(("VOIR [URL=HTTPS://PORTAIL.EXEMPLE.FR]LE PORTAIL[/URL]",
                                 "PANNE DU PORTAIL ^HTTPS://PORTAIL.EXEMPLE.FR")):
        row = bridge_pipe.send(make_mail(subject, "Le portail ne répond plus.", message_id=f"<q{n}@a.fr>",
                                         sender="Paul Martin <paul.martin@exemple.fr>"))
        assert row.state == "published", row.reason
        raw = bridge_pipe.post(row.post_id)["raw"]
        assert "<HTTPS://PORTAIL.EXEMPLE.FR>" in raw
        assert bridge_pipe.post_writes() == n + 1


def test_a_subject_with_a_very_long_word_gets_an_invisible_break(bridge_pipe):
    """TextSentinel refuses a title with a run of more than title_max_word_length (30) letters
    or digits (a reference, a hash): a soft hyphen after every 30 keeps it as it reads;
    foreseen, one write."""
    reference = "DOSSIER2026" + "X7" * 12
    row = bridge_pipe.send(make_mail(f"Suivi du dossier {reference}", "Où en est ce dossier ?",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    title = bridge_pipe.topic(row.topic_id)["title"]
    assert title.replace("\u00ad", "") == f"Suivi du dossier {reference}"
    assert title == f"Suivi du dossier {reference[:30]}\u00ad{reference[30:]}"
    assert bridge_pipe.post_writes() == 1


def test_a_subject_with_several_emoji_keeps_one_and_quotes_the_rest(bridge_pipe):
    """MaxEmojisValidator (max_emojis_in_title 1, read with the lengths): a subject with
    three emoji was quarantined with Discourse's English sentence (read as « title too
    short », decorated, refused again). The title keeps the first emoji, the subject as sent is
    quoted in a French note: one write, nothing lost."""
    row = bridge_pipe.send(make_mail("Bonne année à tous 🎉🎉 :)", "Meilleurs vœux à toute la liste.",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    assert bridge_pipe.topic(row.topic_id)["title"] == "Bonne année à tous 🎉"
    assert ("*(objet du message tel qu'envoyé à la liste, avec plus d'un emoji, que le forum "
            "refuse en titre : « Bonne année à tous 🎉🎉 :) »)*") in bridge_pipe.post(row.post_id)["raw"]
    assert bridge_pipe.post_writes() == 1


def test_a_subject_in_capitals_with_emoji_where_the_forum_takes_none(bridge_pipe):
    """title_prettify off and max_emojis_in_title 0: sentence case, no emoji, one note."""
    bridge_pipe.localforum.set_site_setting("title_prettify", False)
    bridge_pipe.localforum.set_site_setting("max_emojis_in_title", 0)
    row = bridge_pipe.send(make_mail("🎉 SOIRÉE ANNUELLE DU CLUB 🎉", "Rendez-vous samedi soir à la salle.",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    assert bridge_pipe.topic(row.topic_id)["title"] == "Soirée annuelle du club"
    raw = bridge_pipe.post(row.post_id)["raw"]
    assert raw.count("objet du message tel qu'envoyé") == 1
    assert ("*(objet du message tel qu'envoyé à la liste, tout en capitales et avec des emoji, que "
            "le forum refuse en titre : « 🎉 SOIRÉE ANNUELLE DU CLUB 🎉 »)*") in raw
    assert bridge_pipe.post_writes() == 1


def test_an_emoji_refusal_the_settings_did_not_foresee_ends_with_none(bridge_pipe, monkeypatch):
    """Settings read before an administrator lowered max_emojis_in_title to 0 (kept for the
    gateway's life), or a key that may not read them: the title keeps one emoji, is refused
    again (« Title can't have emoji »), then goes with none; never quarantined."""
    from forumsync.pipeline import post_limits

    monkeypatch.setattr(post_limits, "title_limits", lambda forum: {
        "max_topic_title_length": 255, "max_emojis_in_title": 1, "enable_emoji": True,
        "enable_emoji_shortcuts": True})
    bridge_pipe.localforum.set_site_setting("max_emojis_in_title", 0)
    row = bridge_pipe.send(make_mail("Bonne année à tous 🎉🎉", "Meilleurs vœux à toute la liste.",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    assert bridge_pipe.topic(row.topic_id)["title"] == "Bonne année à tous"
    assert bridge_pipe.post_writes() == 2


def test_a_title_longer_than_the_forum_takes_is_cut_never_quarantined(bridge_pipe):
    """TopicTitleLengthValidator (max_topic_title_length, read with the lengths): « Title is
    too long » was read as a short title, the title decorated longer and the message
    quarantined with the English sentence. A 255-character subject with a word over 30 letters
    (the soft hyphens lengthen it), a used title of 250 characters (the list's name and date
    added), a forum whose maximum is 40: each cut with « … », decoration kept, published."""
    paul = "Paul Martin <paul.martin@exemple.fr>"
    subject = ("Suivi " + "ab " * 78 + "Z" * 40)[:255]
    row = bridge_pipe.send(make_mail(subject, "Où en est ce dossier ?", sender=paul))
    assert row.state == "published", row.reason
    assert len(bridge_pipe.topic(row.topic_id)["title"]) <= 255
    used = ("Compte rendu " + "très détaillé " * 17)[:250]
    first = bridge_pipe.send(make_mail(used, "Premier message du fil.", sender=paul, message_id="<t1@a.fr>"))
    second = bridge_pipe.send(make_mail(used, "Second message sans lien.", sender=paul, message_id="<t2@a.fr>"))
    assert first.state == second.state == "published", second.reason
    title = bridge_pipe.topic(second.topic_id)["title"]
    assert len(title) <= 255 and "… (Club Publik, " in title
    assert bridge_pipe.post_writes() == 4  # the used title learnt from the forum's refusal


def test_a_forum_with_a_short_title_maximum(bridge_pipe):
    """max_topic_title_length 40: the subject is cut to it, foreseen, one write."""
    bridge_pipe.localforum.set_site_setting("max_topic_title_length", 40)
    row = bridge_pipe.send(make_mail("Un objet de message un peu trop long pour ce forum-ci",
                                     "Où en est ce dossier ?", sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    assert bridge_pipe.topic(row.topic_id)["title"] == "Un objet de message un peu trop long po…"
    assert bridge_pipe.post_writes() == 1


def test_a_long_word_of_letter_numbers_or_decomposed_accents_gets_its_break(bridge_pipe):
    """A word's length as Ruby's \\p{Alnum} counts it (« Ⅻ » is a letter there): foreseen,
    a soft hyphen, one write; a word written with combining accents (NFD) is broken before a
    letter, never between the letter and its accent."""
    import unicodedata

    word = "DOSSIER" + "A" * 20 + "ⅫⅫⅫⅫⅫⅫ"
    row = bridge_pipe.send(make_mail(f"Suivi du dossier {word}", "Où en est ce dossier ?",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    assert bridge_pipe.topic(row.topic_id)["title"] == f"Suivi du dossier {word[:30]}\u00ad{word[30:]}"
    decomposed = unicodedata.normalize("NFD", "Suivi du dossier " + "a" * 29 + "ééé")
    row = bridge_pipe.send(make_mail(decomposed, "Où en est ce dossier ?", message_id="<nfd@a.fr>",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    title = bridge_pipe.topic(row.topic_id)["title"]
    assert "\u00ad\u0301" not in title and title.replace("\u00ad", "") == decomposed
    assert bridge_pipe.post_writes() == 2


def test_a_content_refusal_that_stays_is_quarantined_with_a_french_reason(bridge_pipe):
    """A forum whose settings no title meets (maximum under the minimum): refused, fitted,
    refused again; quarantined with a French reason naming the problem and what to do (it
    was « refus du forum (…) : Title is too short … » alone)."""
    bridge_pipe.localforum.set_site_setting("max_topic_title_length", 10)
    row = bridge_pipe.send(make_mail("Sortie vélo de dimanche matin", "Rendez-vous à 9 h devant la mairie.",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "quarantined"
    assert row.reason.startswith("le forum refuse encore ce message une fois ajusté (titre trop ")
    assert "vérifier les réglages du forum" in row.reason


def test_a_key_that_may_not_read_the_settings_learns_from_the_refusal(bridge_pipe, monkeypatch):
    """Without the settings (a key that may not read them), « Title seems unclear… » is read
    as its own problem (it was taken for a short title): fitted and written again."""
    from forumsync.pipeline import post_limits

    monkeypatch.setattr(post_limits, "title_rules", lambda forum: None)
    row = bridge_pipe.send(make_mail("Suivi du dossier " + "AB" * 20, "Où en est ce dossier ?",
                                     sender="Paul Martin <paul.martin@exemple.fr>"))
    assert row.state == "published", row.reason
    assert "\u00ad" in bridge_pipe.topic(row.topic_id)["title"]
    assert bridge_pipe.post_writes() == 2


def test_a_new_member_s_mail_with_a_file_is_published_by_the_bridge(tmp_path, sqlite_url, localforum):
    """PostValidator: a member at trust level 0 (a new account) may not put an attachment in a
    post (newuser_max_attachments 0) nor more than 2 links. Their mail with a PDF is refused
    under their name; the bridge posts it with the attribution line (where everyone may
    write): the file reaches the forum's copy of the thread."""
    from forumsync.localforum import users as lf_users

    with localforum.session() as s:
        lf_users.create_user(s, "marie", "marie.dupont@meyzieu.fr", "Marie Dupont", trust_level=0)
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=False)
    pipe.provision()
    try:
        row = pipe.send(make_mail("Compte rendu de la réunion", "Voici le compte rendu.",
                                  attachments=[("compte-rendu.pdf", "application/pdf", b"%PDF-1.4 test")]))
        assert row.state == "published", row.reason
        post = pipe.post(row.post_id)
        assert post["username"] == ctx.settings.FORUM_API_USERNAME
        assert post["raw"].startswith("*Message de Marie Dupont (Meyzieu) transmis depuis la liste")
        assert "compte-rendu.pdf|attachment](upload://" in post["raw"]
        plain = pipe.send(make_mail("Une question sans pièce jointe", "Qui vient jeudi ?"))
        assert pipe.post(plain.post_id)["username"] == "marie"  # within her limits: her own name
    finally:
        ctx.close()
