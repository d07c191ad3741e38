"""parse: msgdata filled as docs/CONTRACTS.md says, on mail from every kind of client."""
from datetime import datetime, timezone

import pytest

from forumsync.mail import parse_bytes
from forumsync.pipeline import parse
from tests.fixtures.database import make_settings
from tests.fixtures.mail import TESTDATA, load_eml

UTC = timezone.utc
PEOPLE = sorted(p.name for p in TESTDATA.glob("*.eml")
                if not p.name.startswith(("autoreply-", "bounce-", "mdn-", "echo-", "outlook-non-remis")))

# name: (from_name, from_email, title, subject_tags, phrase in body, organisation)
EXPECTED = {
    "outlook-fr-reply.eml": ("Jeanne Dupont", "jeanne.dupont@meyzieu.fr",
                             "Question sur la saisine par voie électronique", [],
                             "Pour les accusés de réception, voir la procédure jointe.", "Mairie de Meyzieu"),
    "outlook-web-divrplyfwdmsg.eml": ("Sophie Bernard", "sbernard@mairie-lyon.fr", "Export des démarches",
                                      ["OPENDATA"], "chaque nuit, via l'export open data", "Lyon"),
    "outlook-message-d-origine.eml": ("MOREAU Claire", "c.moreau@cc-pays-de-gex.fr",
                                      "Paiement en ligne des factures cantine", [],
                                      "ça marche très bien depuis l’été dernier.\nCoût : environ 0,25 €",
                                      "Pays de Gex"),
    "thunderbird-fr-reply.eml": ("Pierre Lambert", "p.lambert@ville-valence.fr",
                                 "Mise à jour de w.c.s. et formulaires", [],
                                 "sans souci particulier, les formulaires existants", "Valence"),
    "gmail-fr-wrapped-attribution.eml": ("Paul Martin", "paul.martin.lyon@gmail.com",
                                         "Question sur la saisine par voie électronique", [],
                                         "je teste ça demain", None),
    "apple-mail-fr.eml": ("Marie Chevalier", "marie.chevalier@ville-annecy.fr", "Nouveau module de rendez-vous",
                          [], "est-il compatible avec Publik ?", "Annecy"),
    "iphone-fr.eml": ("Nicolas Garnier", "nicolas.garnier@orange.fr", "Mise à jour de w.c.s. et formulaires",
                      [], "on fait pareil chez nous", None),
    "android-galaxy-fr.eml": ("Camille Roussel", "camille.roussel@sfr.fr", "Réunion du club jeudi", [],
                              "Je serai présente à la réunion du club jeudi.", None),
    "zimbra-fr.eml": ("Isabelle Mercier", "isabelle.mercier@agglo-larochelle.fr",
                      "Question sur la saisine par voie électronique", [], "accusé de réception automatique",
                      "Larochelle"),
    "sogo-fr.eml": ("Romain Lefebvre", "romain.lefebvre@departement26.fr",
                    "Question sur la saisine par voie électronique", [], "je peux partager notre paramétrage",
                    "Departement26"),
    "dmarc-munged-mailman3.eml": ("Jeanne Dupont", "jeanne.dupont@meyzieu.fr", "Retour d'expérience sur la SVE",
                                  [], "après un an de saisine", "Meyzieu"),
    "dmarc-munged-x-original-from.eml": ("François Léger", "francois.leger@yahoo.fr", "Bonjour de Chambéry", [],
                                         "pour la ville de Chambéry", None),
    "cp1252-labelled-latin1.eml": ("Gisèle Bœuf", "gisele.boeuf@ville-auxerre.fr", "Coût du module – € par an",
                                   # the no-break spaces (0xA0, decoded as cp1252) as the forum stores them
                                   [], "1 200 € par an – c’est « raisonnable »", "Auxerre"),
    "bad-charset-labels.eml": ("Bruno Caron", "bruno.caron@ville-tours.fr", "Problème d'encodage", [],
                               "Les accents sont mal affichés", "Tours"),
    "format-flowed-delsp.eml": ("Elise Noel", "elise.noel@ville-nancy.fr", "Inscriptions scolaires en ligne",
                                ["FAMILLE"], "Les familles pourront joindre", "Nancy"),
    "no-message-id.eml": ("scanner", "scanner@ville-exemple.fr", "Document numérisé", [],
                          "compte rendu de la réunion du club, numérisé", "Exemple"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fields(understand, name):
    from_name, from_email, title, tags, phrase, organisation = EXPECTED[name]
    data = understand(name, upto="parse")
    assert (data["from_name"], data["from_email"]) == (from_name, from_email)
    assert (data["title"], data["subject_tags"]) == (title, tags)
    assert phrase in data["body"]
    assert data["organisation"] == organisation


@pytest.mark.parametrize("name", PEOPLE)
def test_every_person_mail_is_understood(understand, name):
    data = understand(name, upto="parse")
    for key in ("from_name", "from_email", "subject", "title", "subject_key", "subject_tags", "date",
                "references", "recipients", "body", "attachments", "refused_attachments", "organisation"):
        assert key in data, key
    assert data["from_email"] and "@" in data["from_email"]
    assert data["title"] and data["body"].strip()
    assert data["date"].tzinfo is not None and data["date"].utcoffset().total_seconds() == 0
    assert "<html" not in data["body"].lower() and "<script" not in data["body"].lower()
    assert "\ufffd" not in data["body"] and "\ufffd" not in data["title"]


def test_date_from_header_in_utc(understand):
    assert understand("outlook-message-d-origine.eml", upto="parse")["date"] == \
        datetime(2024, 3, 6, 8, 12, 55, tzinfo=UTC)


def test_date_clamped_to_reception_time(mail_ctx):
    received = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
    for date in ("Thu, 01 Jan 1970 00:00:00 +0000", "Fri, 01 Jan 2100 00:00:00 +0000", "demain"):
        data = {"received_at": received}
        parse.process(mail_ctx, parse_bytes(f"From: a@x.fr\nDate: {date}\n\nx".encode()), data)
        assert data["date"] == received


def test_references_in_reply_to_first_then_newest_first(mail_ctx):
    msg = parse_bytes(b"From: a@x.fr\nMessage-ID: <me@x>\nIn-Reply-To: <parent@x>\n"
                      b"References: <root@x> <middle@x>\n <parent@x> <me@x>\n\nx")
    data = {"message_id": "me@x"}
    parse.process(mail_ctx, msg, data)
    assert data["references"] == ["parent@x", "middle@x", "root@x"]


def test_references_of_testdata(understand):
    assert understand("roundcube-fr.eml", upto="parse")["references"] == [
        "f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f@saint-etienne.fr", "aa11bb22-cc33-dd44-ee55-ff6677889900@grandlyon.com"]
    assert understand("no-message-id.eml", upto="parse")["references"] == []


def test_recipients(understand):
    assert understand("theme-address-sve.eml", upto="parse")["recipients"] == [
        "sve@listes.example.org", "club@listes.example.org", "bistro@forumsync.example.org"]


def test_subject_key(understand):
    assert understand("outlook-fr-reply.eml", upto="parse")["subject_key"] == \
        understand("gmail-fr-wrapped-attribution.eml", upto="parse")["subject_key"] == \
        "question sur la saisine par voie electronique"


def test_list_footer_stripped(understand):
    for name in ("mailman-footer-part.eml", "dmarc-munged-mailman3.eml"):
        body = understand(name, upto="parse")["body"]
        assert "club-leave" not in body and "\\_\\_\\_" not in body and "____" not in body


def test_configured_footer_patterns(tmp_path, understand):
    from forumsync.context import Context
    ctx = Context(make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}",
                                LIST_FOOTER_PATTERNS=[r"^Pour information\.$"]))
    assert understand("outlook-fr-forward.eml", upto="parse", ctx=ctx)["body"] == ""
    assert understand("outlook-fr-forward.eml", upto="parse")["body"].startswith("Pour information.")


def test_html_only_table(understand):
    data = understand("html-only-table.eml", upto="parse")
    assert data["body_source"] == "html"
    assert "| 11 avril | Portail famille | Grand Lyon |" in data["body"]
    assert "tracking" not in data["body"] and "track()" not in data["body"]


def test_attachments_inline_image_and_refusals(understand):
    data = understand("attachments-inline-image.eml", upto="parse")
    by_name = {a["filename"]: a for a in data["attachments"]}
    assert set(by_name) == {"capture.png", "procédure SVE.pdf"}  # vcard ignored, winmail.dat refused
    assert by_name["capture.png"]["inline"] is True
    assert by_name["capture.png"]["content_id"] == "part1.A1B2C3D4.E5F6A7B8@ville-valence.fr"
    assert by_name["procédure SVE.pdf"] == {"filename": "procédure SVE.pdf", "content_type": "application/pdf",
                                           "data": by_name["procédure SVE.pdf"]["data"], "inline": False,
                                           "content_id": None}
    assert by_name["procédure SVE.pdf"]["data"].startswith(b"%PDF")
    [refused] = data["refused_attachments"]
    assert refused["filename"] == "winmail.dat" and "Outlook" in refused["reason"]


def test_attachment_limits(tmp_path, understand):
    from forumsync.context import Context
    ctx = Context(make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}",
                                MAX_ATTACHMENT_BYTES=70, MAX_ATTACHMENTS=1))
    data = understand("attachments-inline-image.eml", upto="parse", ctx=ctx)
    assert [a["filename"] for a in data["attachments"]] == ["capture.png"]
    reasons = {r["filename"]: r["reason"] for r in data["refused_attachments"]}
    assert reasons["procédure SVE.pdf"].startswith("fichier trop volumineux")
    ctx = Context(make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}", MAX_ATTACHMENTS=1))
    data = understand("attachments-inline-image.eml", upto="parse", ctx=ctx)
    reasons = {r["filename"]: r["reason"] for r in data["refused_attachments"]}
    assert reasons["procédure SVE.pdf"] == "trop de pièces jointes (au plus 1 par message)"


def test_dmarc_unmunging_of_corpus_style_mail(mail_ctx):
    raw = (b'From: "Marcus D. Leech via USRP-users" <usrp-users@lists.ettus.com>\n'
           b'Reply-To: "Marcus D. Leech" <patchvonbraun@gmail.com>\n'
           b"List-Post: <mailto:usrp-users@lists.ettus.com>\nSubject: [USRP-users] B210\n\nx")
    data = {}
    parse.process(mail_ctx, parse_bytes(raw), data)
    assert (data["from_name"], data["from_email"]) == ("Marcus D. Leech", "patchvonbraun@gmail.com")


def test_parse_never_drops_empty_or_broken_mail(mail_ctx):
    for raw in (b"", b"\n\n", b"Subject: \n\n", b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x--",
                b"From: <>\nContent-Type: text/plain; charset=bogus\nContent-Transfer-Encoding: base64\n\n!!"):
        data = {}
        parse.process(mail_ctx, parse_bytes(raw), data)
        assert data["title"] == "(sans objet)" and isinstance(data["body"], str)


def test_load_eml_helper_gives_fresh_messages():
    assert load_eml("iphone-fr.eml") is not load_eml("iphone-fr.eml")


def test_a_subject_and_name_split_mid_character_read_right_on_the_forum(pipe):
    """Red team, twenty-third pass: an « é » cut between two encoded words (mailers that cut
    at a byte count) made the topic's title « RÃ©union de prÃ©sentation »."""
    raw = (b"From: =?UTF-8?Q?Marie_Dupr=C3?= =?UTF-8?Q?=A9?= <marie.dupre@meyzieu.fr>\r\n"
           b"To: club@listes.example.org\r\n"
           b"Subject: [club-publik] =?UTF-8?Q?R=C3=A9union_de_pr=C3?= =?UTF-8?Q?=A9sentation_du_module?=\r\n"
           b"Date: Mon, 02 Mar 2026 09:30:00 +0000\r\n"
           b"Message-ID: <split-ew-1@meyzieu.fr>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n"
           b"Bonjour,\r\n\r\nQui vient \xc3\xa0 la r\xc3\xa9union ?\r\n")
    row = pipe.send(raw)
    assert row.state == "published", row.reason
    assert pipe.topic(row.topic_id)["title"] == "Réunion de présentation du module"
    post = pipe.post(row.post_id)
    assert "Marie Dupré" in (post.get("name") or "") + (post.get("raw") or "")
    assert "Ã" not in (post.get("name") or "") + (post.get("raw") or "")


def test_a_pasted_settings_file_reads_as_written_on_the_forum(pipe, mail):
    """Red team, twenty-third pass: an indented block (settings, a log) is code on the forum;
    its escapes showed there as written (« TEMPLATE\\_VARS », « &lt; »)."""
    import html
    import re

    body = ("Bonjour,\n\nVoici ce que nous avons mis dans settings.py :\n\n"
            "    TEMPLATE_VARS = {'portal_url': 'https://www.meyzieu.fr'}\n"
            "    if count < 10 and is_ok:\n\n"
            "et le journal :\n\n\tERROR [wcs] KeyError: 'nom_de_famille'\n\nMerci !\nMarie\n")
    row = pipe.send(mail(subject="Configuration de TEMPLATE_VARS", body=body))
    assert row.state == "published", row.reason
    post = pipe.post(row.post_id)
    shown = html.unescape(re.sub(r"<[^>]+>", "", post["cooked"]))
    for written in ("TEMPLATE_VARS = {'portal_url': 'https://www.meyzieu.fr'}", "if count < 10 and is_ok:",
                    "ERROR [wcs] KeyError: 'nom_de_famille'"):
        assert written in shown, (written, post["raw"])
