"""Publishing new topics against the real local forum: category, title, date, external_id,
attachments, mapping rows."""
import email
import email.policy
import re

from forumsync.localforum.models import Upload
from forumsync.mail.ids import topic_external_id
from forumsync.models import InboxMessage
from tests.fixtures.pipeline import BASE_DATE, make_mail, make_pipe

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")


def test_new_topic_lands_in_its_theme_category(pipe):
    raw = make_mail("[club-publik] [SVE] Saisine des demandes d'état civil",
                    message_id="<root-sve@meyzieu.fr>")
    row = pipe.send(raw)
    assert row.state == "published", row.reason
    topic = pipe.topic(row.topic_id)
    assert topic["category_id"] == pipe.themes["sve"]
    assert topic["title"] == "Saisine des demandes d'état civil"
    assert topic["external_id"] == topic_external_id("root-sve@meyzieu.fr")
    first = topic["post_stream"]["posts"][0]
    assert first["id"] == row.post_id
    assert first["created_at"].startswith(BASE_DATE.strftime("%Y-%m-%dT%H:%M"))
    link = pipe.topic_link(row.topic_id)
    assert (link.theme, link.category_id, link.root_message_id) == ("sve", pipe.themes["sve"],
                                                                   "root-sve@meyzieu.fr")
    assert link.subject_key == "saisine des demandes d etat civil"
    assert link.external_id == topic_external_id("root-sve@meyzieu.fr")
    post_link = pipe.post_link("root-sve@meyzieu.fr")
    assert (post_link.post_id, post_link.topic_id, post_link.origin) == (row.post_id, row.topic_id, "list")


def test_unrouted_topic_goes_to_the_default_theme(pipe):
    row = pipe.send(make_mail("Rencontre annuelle du club", "Le programme est en ligne."))
    assert row.state == "published"
    assert pipe.topic(row.topic_id)["category_id"] == pipe.themes["general"]


def test_without_provisioned_categories_the_topic_is_uncategorised(tmp_path, sqlite_url, localforum):
    ctx, bare = make_pipe(tmp_path, sqlite_url, localforum)
    row = bare.send(make_mail("[SVE] Une question"))
    assert row.state == "published", row.reason
    category = ctx.forum.category_get(bare.topic(row.topic_id)["category_id"])
    assert category["slug"] == "uncategorized"
    ctx.close()


def test_attachments_are_uploaded_and_linked(pipe):
    raw = make_mail("Compte rendu de la réunion", "Voici le compte rendu et une capture.",
                    attachments=[("capture.png", "image/png", PNG),
                                 ("compte-rendu.pdf", "application/pdf", b"%PDF-1.4 fake\n" * 50)])
    row = pipe.send(raw)
    assert row.state == "published", row.reason
    post = pipe.post(row.post_id)
    assert "![capture.png](upload://" in post["raw"]
    assert "[compte-rendu.pdf|attachment](upload://" in post["raw"]
    assert post["cooked"].count("/uploads/") >= 2
    assert "Voici le compte rendu" in post["raw"]


def test_a_repeated_file_is_uploaded_once(bridge_pipe):
    """Without the plugin each file is its own upload call: a file seen recently is reused."""
    pipe = bridge_pipe
    logo = ("logo-meyzieu.png", "image/png", PNG)
    first = pipe.send(make_mail("Réunion de mars", "Ordre du jour joint.", attachments=[logo]))
    uploads_before = pipe.localforum.requests.count_of("POST", "/uploads.json")
    second = pipe.send(make_mail("Réunion d'avril", "Même logo dans la signature.",
                                 attachments=[logo, ("ordre-du-jour.pdf", "application/pdf", b"%PDF-1.4 x")]))
    assert pipe.localforum.requests.count_of("POST", "/uploads.json") == uploads_before + 1  # the PDF
    first_url = pipe.post(first.post_id)["raw"].split("](", 1)[1].split(")", 1)[0]
    assert first_url in pipe.post(second.post_id)["raw"]


def test_with_the_plugin_a_mail_and_its_files_are_one_forum_write(pipe):
    """The files travel in the plugin's post request: one write call per mirrored mail."""
    writes = pipe.ctx.forum.stats["writes"]
    row = pipe.send(make_mail("Compte rendu du comité", "Voir les pièces jointes.", attachments=[
        ("logo.png", "image/png", PNG), ("compte-rendu.pdf", "application/pdf", b"%PDF-1.4 cr\n"),
        ("logo-bis.png", "image/png", PNG)]))
    assert row.state == "published", row.reason
    assert pipe.ctx.forum.stats["writes"] - writes == 1
    assert pipe.localforum.requests.count_of("POST", "/uploads.json") == 0
    raw = pipe.post(row.post_id)["raw"]
    assert "forumsync-file" not in raw
    assert "![logo.png](upload://" in raw and "[compte-rendu.pdf|attachment](upload://" in raw
    logo_url = raw.split("![logo.png](", 1)[1].split(")", 1)[0]
    assert f"![logo-bis.png]({logo_url})" in raw  # the same bytes: sent once, shown twice
    with pipe.localforum.session() as s:
        assert s.query(Upload).count() == 2


def test_a_file_the_forum_refuses_is_named_and_the_others_still_published(pipe):
    """The plugin refuses the whole post for one file too big for the forum: the files then go
    one by one, the refused one is named in the post, nothing else is lost."""
    pipe.localforum.set_site_setting("max_attachment_size_kb", 2)
    row = pipe.send(make_mail("Données de fréquentation", "Le tableau et le logo sont joints.",
                              attachments=[("logo.png", "image/png", PNG),
                                           ("frequentation.csv", "text/csv", b"jour;visites\n" * 400)]))
    assert row.state == "published", row.reason
    raw = pipe.post(row.post_id)["raw"]
    assert "![logo.png](upload://" in raw
    assert "Pièce jointe non transmise : « frequentation.csv » refusée par le forum" in raw
    assert "taille maximale est de 2 Ko" in raw
    assert pipe.localforum.requests.count_of("POST", "/forumsync/posts.json") == 2
    assert pipe.localforum.requests.count_of("POST", "/uploads.json") == 2


def test_too_big_attachment_is_announced_in_the_post(tmp_path, sqlite_url, localforum):
    ctx, p = make_pipe(tmp_path, sqlite_url, localforum, MAX_ATTACHMENT_BYTES=1000)
    p.provision()
    row = p.send(make_mail("Gros fichier", "Le fichier est joint.",
                           attachments=[("annexe.pdf", "application/pdf", b"%PDF" + b"x" * 5000)]))
    assert row.state == "published", row.reason
    raw = p.post(row.post_id)["raw"]
    assert "Pièce jointe non transmise" in raw and "annexe.pdf" in raw
    assert "upload://" not in raw
    ctx.close()


def test_topic_already_on_the_forum_is_linked_not_duplicated(tmp_path, sqlite_url, localforum, pipe):
    """Our database lost (crash after the forum write): the external_id finds the topic again."""
    raw = make_mail("Perte de base", message_id="<lost-db@meyzieu.fr>")
    first = pipe.send(raw)
    (tmp_path / "other").mkdir()
    ctx, again = make_pipe(tmp_path / "other", f"sqlite:///{tmp_path / 'other' / 'db.sqlite3'}", localforum)
    writes = ctx.forum.stats["writes"]
    second = again.send(raw)
    assert second.state == "published", second.reason
    assert (second.topic_id, second.post_id) == (first.topic_id, first.post_id)
    assert ctx.forum.stats["writes"] - writes == 1  # the refused create only
    ctx.close()


def test_a_sibling_s_topic_found_by_external_id_is_not_linked_as_this_message(
        tmp_path, localforum, pipe):
    """Two orphan replies of one thread share the topic's external_id (their root's). The
    first one's topic is on the forum but not recorded here (forum gone between its write and
    our commit): the second one is not recorded as that topic's first post (that lost it, and
    put two messages on one post); it waits, then joins the topic as a reply."""
    root = "<racine-perdue@meyzieu.fr>"
    first_mail = make_mail("Re: Racine perdue", "Premier message du fil.\n",
                           message_id="<fil-1@meyzieu.fr>", in_reply_to=root, references=root)
    second_mail = make_mail("Re: Racine perdue", "Second message du fil.\n",
                            message_id="<fil-2@grandlyon.fr>", in_reply_to=root, references=root,
                            sender="Paul Martin <paul.martin@grandlyon.fr>")
    (tmp_path / "other").mkdir()
    ctx, elsewhere = make_pipe(tmp_path / "other", f"sqlite:///{tmp_path / 'other' / 'db.sqlite3'}",
                               localforum)
    first_there = elsewhere.send(first_mail)  # written on the forum, unknown to `pipe`
    ctx.close()
    assert first_there.state == "published", first_there.reason

    second = pipe.send(second_mail)
    assert second.state == "retry", second.reason
    assert second.post_id is None and "autre message" in second.reason

    first = pipe.send(first_mail)  # its own topic: linked, nothing written
    assert (first.state, first.post_id) == ("published", first_there.post_id), first.reason
    with pipe.ctx.db.session() as session:
        session.get(InboxMessage, second.id).next_attempt_at = None
    pipe.run()
    second = pipe.row(second.id)
    assert second.state == "published", second.reason
    assert second.topic_id == first.topic_id and second.post_id != first.post_id
    assert "Second message" in pipe.post(second.post_id)["raw"]


def test_inbox_row_records_the_outcome(pipe):
    row = pipe.send(make_mail("Mise à jour du connecteur"))
    assert isinstance(row, InboxMessage)
    assert row.state == "published" and row.reason == "nouveau sujet"
    assert row.processed_at is not None and row.locked_by is None and row.attempts == 1


def test_short_or_reused_titles_and_short_bodies_fit_discourse_defaults(tmp_path, sqlite_url,
                                                                        localforum):
    """Without the plugin (core API, Discourse's defaults: titles of 15 characters at least
    and unique, posts of 20): a one-word mail is still published, its title dated and its
    body completed by a French note saying why; the minimums are read beforehand, so no
    write is wasted on a refusal (a reused title is learnt from the refusal: one more)."""
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    paul = "Paul Martin <paul.martin@exemple.fr>"  # no forum account: the bridge posts for him
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=False)
    try:
        pipe.provision()
        first = pipe.send(make_mail("Aide", "Merci", message_id="<short@a.fr>"))
        assert first.state == "published", first.reason
        assert pipe.topic(first.topic_id)["title"] == "Aide (Club Publik, 02/03/2026)"
        post = pipe.post(first.post_id)
        assert post["username"] == "marie"
        assert post["raw"].startswith("Merci\n")
        assert post["raw"].rstrip().endswith(
            "*(message bref transmis tel quel depuis la liste Club Publik ; cette note le "
            "complète car le forum refuse les messages trop courts)*")
        assert pipe.post_writes() == 1
        again = pipe.send(make_mail("Aide", "Encore moi", message_id="<short2@a.fr>", sender=paul))
        assert again.state == "published" and again.topic_id != first.topic_id
        assert pipe.topic(again.topic_id)["title"] == "Aide (Club Publik, 02/03/2026 09:30)"
        assert pipe.post_writes() == 3
        reply = pipe.send(make_mail("Re: Aide", "+1", in_reply_to="<short@a.fr>", sender=paul))
        assert reply.state == "published", reply.reason
        raw = pipe.post(reply.post_id)["raw"]
        # the bridge's attribution line already makes it long enough: no note
        assert "\n\n+1\n" in raw and "message bref" not in raw
        assert pipe.post_writes() == 4
    finally:
        ctx.close()


def test_short_mail_through_the_plugin_is_published_as_written(pipe):
    """The plugin creates posts with PostCreator's skip_validations (no length check, no
    unique title): a one-word mail is published as written, in one write each."""
    first = pipe.send(make_mail("Aide", "Merci", message_id="<short@a.fr>"))
    assert first.state == "published", first.reason
    assert pipe.topic(first.topic_id)["title"] == "Aide"
    again = pipe.send(make_mail("Aide", "Encore moi", message_id="<short2@a.fr>"))
    assert again.state == "published" and again.topic_id != first.topic_id
    reply = pipe.send(make_mail("Re: Aide", "+1", in_reply_to="<short@a.fr>"))
    assert pipe.post(reply.post_id)["raw"] == "+1"
    assert pipe.post_writes() == 3


def test_post_over_the_forum_maximum_is_cut_and_attached_whole(pipe):
    pipe.localforum.set_site_setting("max_post_length", 32000)
    lines = [f"Ligne {n} du journal de la passerelle, avec un peu de texte." for n in range(1500)]
    row = pipe.send(make_mail("Journal complet", "\n".join(lines)))
    assert row.state == "published", row.reason
    raw = pipe.post(row.post_id)["raw"]
    assert len(raw) <= 32000
    assert "Ligne 0 du journal" in raw and "Ligne 1499 du journal" not in raw
    assert "Message tronqué" in raw and "[message-complet.txt|attachment](upload://" in raw
    # the forum's limit was read beforehand: no write was wasted on a refusal, and the full
    # text travelled with the post (plugin): one write in all
    assert pipe.post_writes() == 1
    assert pipe.localforum.requests.count_of("POST", "/uploads.json") == 0
    with pipe.localforum.session() as session:
        full = session.query(Upload).filter(Upload.original_filename == "message-complet.txt").one()
        assert full.data.decode("utf-8").rstrip().endswith("Ligne 1499 du journal de la passerelle, avec un peu de texte.")


def test_long_post_keeps_its_attachments_and_cut_inline_images(pipe):
    """Cut for the forum's maximum: the attachment links and an inline image whose place in
    the text was cut stay in the post; still one forum write."""
    pipe.localforum.set_site_setting("max_post_length", 32000)
    lines = [f"Ligne {n} du journal de la passerelle, avec un peu de texte." for n in range(1500)]
    msg = email.message_from_bytes(make_mail("Journal et capture", "\n".join(lines) + "\n[cid:capture@01DA]\n",
                                             attachments=[("capture.png", "image/png", PNG),
                                                          ("config.xml", "text/xml", b"<a/>")]),
                                   policy=email.policy.default)
    next(p for p in msg.iter_attachments() if p.get_filename() == "capture.png")["Content-ID"] = "<capture@01DA>"
    writes = pipe.ctx.forum.stats["writes"]
    row = pipe.send(msg.as_bytes())
    assert row.state == "published", row.reason
    raw = pipe.post(row.post_id)["raw"]
    assert len(raw) <= 32000 and "Message tronqué" in raw
    assert "![capture.png](upload://" in raw and "[config.xml|attachment](upload://" in raw
    assert "[message-complet.txt|attachment](upload://" in raw
    assert pipe.ctx.forum.stats["writes"] - writes == 1


def test_long_post_without_the_plugin_uploads_the_full_text(bridge_pipe):
    bridge_pipe.localforum.set_site_setting("max_post_length", 32000)
    lines = [f"Ligne {n} du journal." for n in range(3000)]
    row = bridge_pipe.send(make_mail("Journal complet", "\n".join(lines),
                                     attachments=[("config.xml", "text/xml", b"<a/>")]))
    assert row.state == "published", row.reason
    raw = bridge_pipe.post(row.post_id)["raw"]
    assert "[message-complet.txt|attachment](upload://" in raw and "[config.xml|attachment](upload://" in raw
    assert bridge_pipe.localforum.requests.count_of("POST", "/uploads.json") == 2
    assert bridge_pipe.post_writes() == 1


def test_message_without_text_is_still_published(pipe):
    row = pipe.send(make_mail("Sans texte", ""))
    assert row.state == "published", row.reason
    assert "message sans texte" in pipe.post(row.post_id)["raw"]


def test_a_text_over_what_is_converted_is_published_cut_with_every_line_attached(pipe):
    """A 900 KB text (red team, seventh pass: 15–21 s and 430–530 MB when all of it was
    converted and checked): the body converts at most MAX_TEXT_CHARS of it; the post is cut
    and the file attached holds every line, even with a forum maximum above the body."""
    from forumsync.mail.body import MAX_MARKDOWN_CHARS

    pipe.localforum.set_site_setting("max_post_length", 300_000)  # a forum that would take it all
    lines = [f"Ligne {n} du journal de la passerelle, avec un peu de texte." for n in range(15_000)]
    row = pipe.send(make_mail("Journal énorme", "\n".join(lines)))
    assert row.state == "published", row.reason
    raw = pipe.post(row.post_id)["raw"]
    assert len(raw) < MAX_MARKDOWN_CHARS + 1000
    assert "Ligne 0 du journal" in raw and "Ligne 14999 du journal" not in raw
    assert "Message tronqué" in raw and "[message-complet.txt|attachment](upload://" in raw
    with pipe.localforum.session() as session:
        full = session.query(Upload).filter(Upload.original_filename == "message-complet.txt").one()
        text = full.data.decode("utf-8")
    assert all(f"Ligne {n} du journal" in text for n in (0, 7_500, 14_999))


def test_a_mail_that_writes_a_file_reference_keeps_its_text_and_its_author(pipe):
    """Red team, 46th pass: the plugin replaces « forumsync-file:N » wherever it stands in the
    raw (code too) by the Nth file's address, and refuses the post for a number with no file.
    A mail about forumsync that wrote one lost its author (the refused post went out again
    from the bridge account) or had its words turned into the address of the file it carried."""
    body = ("Le greffon écrit forumsync-file:0 puis forumsync-file:7 dans le texte brut.\n\n"
            "    forumsync-file:1 (en code)\n")
    writes = pipe.ctx.forum.stats["writes"]
    row = pipe.send(make_mail("Comment forumsync joint les fichiers", body,
                              attachments=[("logo.png", "image/png", PNG)]))
    assert row.state == "published", row.reason
    assert pipe.ctx.forum.stats["writes"] - writes == 1  # no refusal, no second try
    post = pipe.post(row.post_id)
    raw = post["raw"]
    assert raw.count("(upload://") == 1 and "![logo.png](upload://" in raw  # the file, once
    for number in "071":
        assert f"forumsync-file:\u200b{number}" in raw
    assert post["username"] != pipe.localforum.username  # the sender's own (staged) account
    assert "transmis depuis la liste" not in raw  # no attribution: not the bridge account's post


def _mail_with_images(subject, *, text=None, html=None, cids=()):
    """A mail whose image parts carry Content-IDs (CIDS), with a TEXT or an HTML body."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    msg = EmailMessage()
    msg["From"] = "Marie Dupont <marie.dupont@meyzieu.fr>"
    msg["To"] = "club@listes.example.org"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(BASE_DATE)
    msg["Message-ID"] = f"<images-{abs(hash(subject))}@meyzieu.fr>"
    if html is not None:
        msg.set_content(html, subtype="html", charset="utf-8", cte="8bit")
        for n, cid in enumerate(cids):  # two different images (two uploads)
            msg.add_related(PNG + bytes([n]), maintype="image", subtype="png", cid=f"<{cid}>",
                            filename=f"image{n}.png")
    else:
        msg.set_content(text, charset="utf-8", cte="8bit")
        for n, cid in enumerate(cids):
            msg.add_attachment(PNG + bytes([n]), maintype="image", subtype="png", filename=f"image{n}.png")
            msg.get_payload()[-1]["Content-ID"] = f"<{cid}>"
    return msg.as_bytes()


def test_a_content_id_written_in_the_text_stays_text_and_the_image_is_linked(pipe):
    """Red team, 48th pass: the composer put the file's address wherever « cid:X » stood, so
    a mail that showed it in its text (a code line) had it turned into a file reference, that
    the last check then broke: the plugin refused the post for a file it did not name, and
    the mail was written again with its files apart."""
    body = "Le code de la signature :\n\n    <img src=\"cid:logo@meyzieu.fr\">\n\nMarie\n"
    writes = pipe.ctx.forum.stats["writes"]
    row = pipe.send(_mail_with_images("Une question sur les signatures", text=body, cids=["logo@meyzieu.fr"]))
    assert row.state == "published", row.reason
    assert pipe.ctx.forum.stats["writes"] - writes == 1  # no refusal, no second write
    raw = pipe.post(row.post_id)["raw"]
    assert 'src="cid:logo@meyzieu.fr"' in raw  # the sender's text, as written
    assert raw.count("](upload://") == 1 and "![image0.png](upload://" in raw  # the file, linked


def test_an_image_whose_content_id_extends_another_keeps_its_place(pipe):
    """« cid:ii_a1 » is the beginning of « cid:ii_a10 »: the second image's address was
    rewritten with the first's, then broken, and the post refused for an unnamed file."""
    html = '<p>Avant</p><p><img src="cid:ii_a1" alt="un"></p><p><img src="cid:ii_a10" alt="dix"></p>'
    writes = pipe.ctx.forum.stats["writes"]
    row = pipe.send(_mail_with_images("Deux images dans le texte", html=html, cids=["ii_a1", "ii_a10"]))
    assert row.state == "published", row.reason
    assert pipe.ctx.forum.stats["writes"] - writes == 1
    raw = pipe.post(row.post_id)["raw"]
    assert "![un](upload://" in raw and "![dix](upload://" in raw and "forumsync-file" not in raw


def test_two_parts_with_one_content_id_both_reach_the_post(pipe):
    """Red team, 49th pass: a Content-ID given to two parts (a forward of two mails signed
    alike, a crafted mail) named one image; both files took its place, the plugin refused the
    post for the file it did not name, and written again with its files apart the second file
    was in no image and no link: lost without a word. The first part is the image, the
    other one is linked as any file."""
    html = '<p>Avant</p><p><img src="cid:logo" alt="logo"></p><p>Apr\u00e8s</p>'
    writes = pipe.ctx.forum.stats["writes"]
    row = pipe.send(_mail_with_images("Deux parties, un seul Content-ID", html=html, cids=["logo", "logo"]))
    assert row.state == "published", row.reason
    assert pipe.ctx.forum.stats["writes"] - writes == 1  # no refusal, no second write
    raw = pipe.post(row.post_id)["raw"]
    assert "![logo](upload://" in raw and "![image1.png](upload://" in raw
    assert len(set(re.findall(r"upload://[^)]+", raw))) == 2  # two different files, both shown


def test_an_image_written_cid_in_capitals_stays_in_its_place(pipe):
    """A URL's scheme is any case: « CID:abc » (as some mailers write it) was no image for the
    composer, whose post showed « !\\[un](CID:abc) » as escaped text and the image at the end."""
    html = '<p>Avant</p><p><img src="CID:abc" alt="un"></p><p>Apr\u00e8s</p>'
    row = pipe.send(_mail_with_images("Une image en capitales", html=html, cids=["abc"]))
    assert row.state == "published", row.reason
    raw = pipe.post(row.post_id)["raw"]
    assert "![un](upload://" in raw and "CID:" not in raw and raw.count("upload://") == 1
