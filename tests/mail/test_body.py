"""MIME walking: which alternative, which parts are body, which are attachments."""
import pytest

from forumsync.mail import parse_bytes
from forumsync.mail.body import extract_body, plain_is_poorer


def _alternative(plain: str, html: str) -> bytes:
    return (f'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"\n\n--b\n'
            f'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{plain}\n'
            f'--b\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{html}\n'
            f'--b--\n').encode()


def test_plain_preferred_when_as_good():
    body = extract_body(parse_bytes(_alternative("Bonjour *à tous*", "<p>Bonjour <b>à tous</b></p>")))
    assert (body.source, body.markdown) == ("plain", r"Bonjour \*à tous\*")


@pytest.mark.parametrize("plain", [
    "", "   \n",
    "Ce message est au format HTML. Votre messagerie ne permet pas de l'afficher.",
    "To view this message in your browser, click here.",
])
def test_html_chosen_when_plain_is_empty_or_a_stub(plain):
    body = extract_body(parse_bytes(_alternative(plain, "<p>Le vrai contenu du message, en HTML.</p>")))
    assert body.source == "html" and "Le vrai contenu" in body.markdown


def test_html_chosen_when_plain_lost_table_or_links():
    table = "<table><tr><td>Date</td><td>Lieu</td></tr><tr><td>4 avril</td><td>Lyon</td></tr></table>"
    assert plain_is_poorer("Date Lieu 4 avril Lyon", table)
    links = '<p>Voir <a href="https://a.example.org/x">ceci</a> et <a href="https://b.example.org/y">cela</a></p>'
    assert plain_is_poorer("Voir ceci et cela", links)
    assert not plain_is_poorer("Voir ceci <https://a.example.org/x> et cela <https://b.example.org/y>", links)
    assert plain_is_poorer("Court.", "<p>" + "Un texte bien plus long que la version texte. " * 10 + "</p>")


def test_html_only_testdata(eml):
    body = extract_body(eml("html-only-table.eml"))
    assert body.source == "html" and "| 4 avril | Open data | Montpellier |" in body.markdown


def test_outlook_inline_logo_and_cid_placeholder(eml):
    body = extract_body(eml("outlook-fr-reply.eml"))
    assert body.source == "plain"
    [logo] = body.attachments
    assert (logo.filename, logo.content_type, logo.inline) == ("image001.png", "image/png", True)
    assert logo.content_id == "image001.png@01DA74B1.2C5E8F10"
    assert logo.data.startswith(b"\x89PNG")
    assert "![image001.png](cid:image001.png@01DA74B1.2C5E8F10)" in body.markdown
    assert "[cid:" not in body.markdown


def test_gmail_image_placeholder():
    raw = ('MIME-Version: 1.0\nContent-Type: multipart/related; boundary="r"\n\n--r\n'
           'Content-Type: multipart/alternative; boundary="a"\n\n--a\nContent-Type: text/plain; charset=UTF-8\n\n'
           'Voici :\n[image: capture.png]\nMerci\n--a\nContent-Type: text/html; charset=UTF-8\n\n'
           '<div>Voici :<br><img src="cid:ii_lt1" alt="capture.png"><br>Merci</div>\n--a--\n--r\n'
           'Content-Type: image/png; name="capture.png"\nContent-Disposition: inline; filename="capture.png"\n'
           'Content-Transfer-Encoding: base64\nContent-ID: <ii_lt1>\n\niVBORw0KGgo=\n--r--\n')
    body = extract_body(parse_bytes(raw.encode()))
    assert body.source == "plain"
    assert "![capture.png](cid:ii_lt1)" in body.markdown
    assert body.attachments[0].inline


def test_attachments_and_inline_image(eml):
    body = extract_body(eml("attachments-inline-image.eml"))
    names = {a.filename: a for a in body.attachments}
    assert set(names) == {"capture.png", "procédure SVE.pdf", "winmail.dat", "pierre_lambert.vcf"}
    assert names["capture.png"].inline and names["capture.png"].content_id == "part1.A1B2C3D4.E5F6A7B8@ville-valence.fr"
    assert not names["procédure SVE.pdf"].inline
    assert names["procédure SVE.pdf"].data.startswith(b"%PDF")
    assert "Voici la capture d'écran" in body.markdown and "%PDF" not in body.markdown


def test_mailman_footer_part_is_body_text(eml):
    body = extract_body(eml("mailman-footer-part.eml"))
    assert "Quel moyen de paiement" in body.markdown and "club-leave@listes.example.org" in body.markdown
    assert body.attachments == []


def test_forwarded_message_rfc822_is_quoted():
    raw = (b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="m"\n\n--m\n'
           b'Content-Type: text/plain; charset=utf-8\n\nPour info.\n--m\nContent-Type: message/rfc822\n\n'
           b'From: Support <s@x.fr>\nSubject: Nouvelle version\nDate: Tue, 26 Mar 2024 17:00:00 +0100\n'
           b'Content-Type: text/plain; charset=utf-8\n\nLa version 4.1 est sortie.\n--m--\n')
    body = extract_body(parse_bytes(raw))
    assert body.markdown.startswith("Pour info.")
    assert "> **Objet :** Nouvelle version" in body.markdown
    assert "> La version 4.1 est sortie." in body.markdown


def test_attachment_without_filename_gets_one():
    raw = (b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="m"\n\n--m\n'
           b'Content-Type: text/plain\n\nx\n--m\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n'
           b'JVBERi0=\n--m--\n')
    [att] = extract_body(parse_bytes(raw)).attachments
    assert att.filename == "piece-jointe-1.pdf" and att.data == b"%PDF-"


def test_signed_mail_keeps_text_drops_signature_part():
    raw = (b'MIME-Version: 1.0\nContent-Type: multipart/signed; protocol="application/pgp-signature"; '
           b'boundary="s"\n\n--s\nContent-Type: text/plain; charset=utf-8\n\nTexte sign\xc3\xa9.\n--s\n'
           b'Content-Type: application/pgp-signature; name="signature.asc"\n\n-----BEGIN PGP SIGNATURE-----\n'
           b'--s--\n')
    body = extract_body(parse_bytes(raw))
    assert body.markdown == "Texte signé." and body.attachments == []


def test_empty_message():
    body = extract_body(parse_bytes(b"Subject: vide\n\n"))
    assert (body.markdown, body.source, body.attachments) == ("", "empty", [])


def test_iphone_inline_photo_between_text_parts(eml):
    body = extract_body(eml("iphone-inline-photo.eml"))
    [photo] = body.attachments
    assert (photo.filename, photo.content_type, photo.inline) == ("IMG_0412.jpeg", "image/jpeg", True)
    assert photo.content_id == "forumsync-inline-1" and photo.data.startswith(b"\xff\xd8")
    assert body.markdown == ("Voici le message d’erreur affiché au dépôt :\n\n"
                             "![IMG_0412.jpeg](cid:forumsync-inline-1)\n\nUne idée ?\n\nEnvoyé de mon iPhone")
    assert body.source == "plain"
