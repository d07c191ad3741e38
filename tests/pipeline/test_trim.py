"""trim: trailing history and signatures go into a collapsed block; answers and forwards stay."""
import pytest

from forumsync.pipeline import trim

DETAILS = '[details="Message cité"]'
SIGNATURE = '[details="Signature"]'
# Nothing quoted: the block is titled « Signature ».
SIGNATURE_ONLY = {"mutt-signature-dashes.eml", "thunderbird-fr-signature-sans-espace.eml",
                  "zimbra-fr-signature-tiret-long.eml", "roundcube-fr-signature-soulignes.eml",
                  "gmail-fr-signature-tirets.eml", "outlook-fr-tag-sve-body-cantine.eml"}

# name: (last words kept, first words of the trimmed block)
TRIMMED = {
    "outlook-fr-reply.eml": ("Jeanne Dupont", "Chargée de mission"),
    "outlook-web-divrplyfwdmsg.eml": ("Sophie", "\\_\\_\\_"),
    "outlook-message-d-origine.eml": ("Claire", "-----Message d'origine-----"),
    "thunderbird-fr-reply.eml": ("Pierre", "Le 07/03/2024 à 11:05, Anne Roux a écrit :"),
    "gmail-fr-wrapped-attribution.eml": ("je teste ça demain.", "Le mar. 12 mars 2024 à 11:02, Jeanne Dupont"),
    "gmail-en-on-wrote.eml": ("Alex", "On Mon, Mar 11, 2024 at 3:45 PM Thomas Petit"),
    "apple-mail-fr.eml": ("Bien à vous,\nMarie", "> Le 11 mars 2024 à 16:45, Thomas Petit"),
    "iphone-fr.eml": ("on fait pareil chez nous.", "Envoyé de mon iPhone"),
    "android-galaxy-fr.eml": ("réunion du club jeudi.", "Envoyé depuis mon appareil Galaxy"),
    "zimbra-fr.eml": ("Cordialement,\nIsabelle", "----- Mail original -----"),
    "roundcube-fr.eml": ("simple a parametrer.", "Le 2024-03-08 09:47, Julie Faure a ecrit :"),
    "sogo-fr.eml": ("Romain", 'Le mardi, mars 12, 2024 10:15 CET, "Paul Martin"'),
    "mutt-signature-dashes.eml": ("la brique « chrono ».", "\\--\nOlivier Dumas"),
    # hand-typed separators above name, role, collectivity, phone (issue 14)
    "thunderbird-fr-signature-sans-espace.eml": ("sans difficulté.", "\\--\nSylvie Bernard\nChargée de projets"),
    "zimbra-fr-signature-tiret-long.eml": ("Bonne journée", "—\n\nIsabelle Fontaine"),
    "roundcube-fr-signature-soulignes.eml": ("Merci d'avance,", "\\_\\_\nMathieu Roche"),
    "gmail-fr-signature-tirets.eml": ("menu Exports du back-office.", "\\------------------------------\nThomas Petit"),
    "outlook-fr-tag-sve-body-cantine.eml": ("Cordialement,\n\nAgnès Lemoine", "Mairie de Chambéry"),
    "iphone-fr-re-tr.eml": ("c'est noté pour le certificat.", "Envoyé de mon iPhone\n\n> Le 13 mars 2024"),
}
UNTOUCHED = ["thunderbird-fr-interleaved.eml", "outlook-fr-forward.eml", "re-absence-de-connecteur.eml",
             "html-only-table.eml", "dmarc-munged-mailman3.eml", "attachments-inline-image.eml",
             "thunderbird-fr-prenom-seul.eml",  # « -- » then only the first name: a closing, kept
             # forwards keep what they forward
             "outlook-fr-tr-re-liste.eml", "thunderbird-fr-fwd-own-list-mail.eml", "gmail-fr-fwd-outside.eml"]


@pytest.mark.parametrize("name", sorted(TRIMMED))
def test_history_and_signatures_trimmed(understand, name):
    kept_end, trimmed_start = TRIMMED[name]
    data = understand(name, upto="trim")
    assert data["trimmed"] is True
    title, other = (SIGNATURE, DETAILS) if name in SIGNATURE_ONLY else (DETAILS, SIGNATURE)
    kept, _, block = data["body"].partition(f"\n\n{title}\n\n")  # a blank line after the fold line
    assert kept.endswith(kept_end)
    assert block.startswith(trimmed_start)
    assert block.endswith("\n[/details]")
    assert data["body"].count(title) == 1 and other not in data["body"]


@pytest.mark.parametrize("name", UNTOUCHED)
def test_untouched(understand, name):
    before = understand(name, upto="parse")["body"]
    data = understand(name, upto="trim")
    assert data["trimmed"] is False and data["body"] == before and DETAILS not in data["body"]


def test_interleaved_answers_all_kept(understand):
    body = understand("thunderbird-fr-interleaved.eml", upto="trim")["body"]
    for line in ("> 1) Utilisez-vous la réservation", "Oui, depuis la rentrée 2023.", "> 2) Et le périscolaire ?",
                 "Pas encore", "> 3) Quel connecteur", "PayFiP."):
        assert line in body


def test_quoted_text_is_not_lost(understand):
    body = understand("outlook-message-d-origine.eml", upto="trim")["body"]
    assert "Quel moyen de paiement utilisez-vous pour le portail famille ?" in body


def test_forward_keeps_forwarded_content(understand):
    body = understand("outlook-fr-forward.eml", upto="trim")["body"]
    assert "La version 4.1 du connecteur est disponible." in body and DETAILS not in body


def test_trim_body_keeps_everything_when_nothing_would_remain():
    text = "Le 12/03/2024, Paul a écrit :\n> Question ?"
    assert trim.trim_body(text) == (text, False)
    assert trim.trim_body("") == ("", False)


def test_trim_body_forwarded_flag():
    text = "Pour info.\n\n-----Message d'origine-----\nDe : x\nObjet : y"
    assert trim.trim_body(text, forwarded=True) == (text, False)
    assert trim.trim_body(text)[1] is True


@pytest.mark.parametrize("subject, forwarded", [
    ("TR: x", True), ("Fwd: x", True), ("[club-publik] TR : x", True), ("Fw: x", True),
    ("RE: TR: x", False), ("Tribune", False), ("Re: x", False),
])
def test_forward_detection(mail_ctx, subject, forwarded):
    data = {"subject": subject, "body": "Pour info.\n\n-----Message d'origine-----\nDe : x\nObjet : y"}
    trim.process(mail_ctx, None, data)
    assert data["trimmed"] is (not forwarded)


def test_first_name_closing_stays_in_the_post(understand):
    body = understand("thunderbird-fr-prenom-seul.eml", upto="trim")["body"]
    assert body.endswith("du premier coup.\n\n\\--\nJulie")


def test_signature_block_keeps_every_line(understand):
    body = understand("zimbra-fr-signature-tiret-long.eml", upto="trim")["body"]
    for line in ("Isabelle Fontaine", "Responsable du pôle relation usagers",
                 "Communauté de communes du Pays de Gex", "04 50 42 65 00"):
        assert body.index(SIGNATURE) < body.index(line)


@pytest.mark.parametrize("subject", ["TR\u00a0: RE: [club-publik] x", "Fwd: Re: x"])
def test_forward_of_a_reply_keeps_what_it_forwards(mail_ctx, subject):
    data = {"subject": subject, "body": "Pour info.\n\n-----Message d'origine-----\nDe : x\nObjet : y"}
    trim.process(mail_ctx, None, data)
    assert data["trimmed"] is False


def test_a_sentence_starting_like_a_phone_signature_stays_visible(pipe, mail):
    """Red team, twenty-third pass: « Envoyé depuis mon compte agent, … » read as « Envoyé
    depuis mon iPhone »: the question below it was folded away as « Signature »."""
    body = ("Bonjour,\n\nNous avons un souci avec les notifications de la démarche « Inscription scolaire ».\n"
            "Envoyé depuis mon compte agent, le courriel de confirmation arrive bien ; envoyé depuis "
            "le compte d'un usager, il n'arrive jamais.\nAvez-vous déjà rencontré ce problème ?\n\n"
            "Merci,\nMarie\n")
    row = pipe.send(mail(subject="Notifications de l'inscription scolaire", body=body))
    assert row.state == "published", row.reason
    raw = pipe.post(row.post_id)["raw"]
    assert "[details=" not in raw and "Avez-vous déjà rencontré ce problème ?" in raw, raw
