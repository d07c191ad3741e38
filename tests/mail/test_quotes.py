"""Quoted history and signatures at the end of a body; interleaved answers kept."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forumsync.mail.quotes import split_quotes, split_trailing


def test_outlook_fr_plain_header_block():
    text = ("Oui, c'est bon.\n\nClaire\n\nDe : Paul <p@x.fr>\nEnvoyé : mardi 12 mars 2024 10:15\n"
            "À : club@listes.example.org\nObjet : Question\n\nBonjour")
    assert split_quotes(text) == ("Oui, c'est bon.\n\nClaire", text[text.index("De :"):])


def test_outlook_markdown_header_block_with_rule():
    text = ("Oui.\n\n---\n\n**De :** Paul &lt;p@x.fr>\n**Envoyé :** lundi\n**À :** club@x.fr\n"
            "**Objet :** Question\n\nBonjour")
    kept, trimmed = split_quotes(text)
    assert kept == "Oui." and trimmed.startswith("---\n\n**De :**")


def test_english_outlook_header_block():
    text = "Sure.\n\nFrom: Paul <p@x.fr>\nSent: Monday, March 11, 2024 3:45 PM\nTo: list@x.fr\nSubject: Q\n\nHi"
    assert split_quotes(text)[0] == "Sure."


@pytest.mark.parametrize("separator", ["-----Message d'origine-----", "-----Original Message-----",
                                       "----- Mail original -----", "-------- Message d'origine --------",
                                       "\\-----Message d'origine-----"])
def test_separators(separator):
    text = f"Merci.\n\n{separator}\nDe : Paul\nBonjour"
    assert split_quotes(text)[0] == "Merci."


@pytest.mark.parametrize("attribution", [
    "Le 12/03/2024 à 10:15, Paul Martin a écrit :",
    "Le mar. 12 mars 2024 à 10:15, Paul Martin &lt;paul@x.fr> a écrit :",
    "Le mar. 12 mars 2024 à 10:15, Paul Martin <paul@x.fr> a\nécrit :",
    "Le mar. 12 mars 2024 à 10:15, Paul Martin <\npaul@x.fr> a écrit :",
    "Le 12 mars 2024 à 10:15, Paul Martin a écrit :",
    "Le 2024-03-08 09:47, Julie Faure a ecrit :",
    "On Mon, Mar 11, 2024 at 3:45 PM Thomas <t@x.fr> wrote:",
    "On Mon, Mar 11, 2024 at 3:45 PM Thomas <t@x.fr>\nwrote:",
    "Am 11.03.2024 um 15:45 schrieb Thomas:",
    "Paul Martin a écrit :",
])
def test_attributions_followed_by_quotes(attribution):
    text = f"Réponse courte.\n\n{attribution}\n\n> Bonjour,\n>\n> question ?\n"
    kept, trimmed = split_quotes(text)
    assert kept == "Réponse courte."
    assert trimmed.startswith(attribution.split("\n")[0])


def test_interleaved_answers_are_kept():
    text = ("Bonjour,\n\nLe 07/03/2024 à 17:30, Hugo a écrit :\n> 1) Cantine ?\n\nOui.\n\n"
            "> 2) Périscolaire ?\n\nPas encore.\n\nJulie")
    assert split_quotes(text) == (text, "")


def test_interleaved_then_unanswered_rest_is_trimmed():
    text = "> 1) Cantine ?\n\nOui.\n\n> 2) Périscolaire ?\n> 3) Paiement ?\n"
    kept, trimmed = split_quotes(text)
    assert kept == "> 1) Cantine ?\n\nOui." and trimmed == "> 2) Périscolaire ?\n> 3) Paiement ?"


def test_bottom_posting_keeps_the_quote():
    text = "Le 12/03/2024, Paul a écrit :\n> Question ?\n\nRéponse."
    assert split_quotes(text) == (text, "")


def test_nothing_left_keeps_everything():
    text = "Le 12/03/2024, Paul a écrit :\n> Question ?\n"
    assert split_quotes(text) == (text, "")
    assert split_quotes("-- \nSignature seule") == ("-- \nSignature seule", "")


@pytest.mark.parametrize("signature", [
    "-- \nOlivier Dumas\nhttps://www.entrouvert.com/",
    "\\--\nOlivier Dumas",
    "-- \n2.21.0",          # git send-email's version trailer: not a first name
    "\\--\n2.22.0.657.g960e92d24f-goog",
    "Envoyé de mon iPhone",
    "Envoyé depuis mon appareil Galaxy",
    "Envoyé à partir de mon smartphone Samsung Galaxy.",
    "Sent from my iPhone",
    "Obtenir Outlook pour Android",
    "Get Outlook for iOS",
    "Envoyé avec Proton Mail",
    "Sent from my iPhone. Excuse brevity.",
])
def test_signatures(signature):
    kept, trimmed = split_quotes(f"Le module est compatible.\n\n{signature}")
    assert kept == "Le module est compatible." and trimmed == signature


def test_french_sign_off_with_phone_keeps_name():
    text = ("D'accord.\n\nCordialement,\n\nJeanne Dupont\nChargée de mission\nMairie de Meyzieu\n"
            "Tél : 04 78 31 00 00\nwww.meyzieu.fr")
    kept, trimmed = split_quotes(text)
    assert kept == "D'accord.\n\nCordialement,\n\nJeanne Dupont"
    assert trimmed.startswith("Chargée de mission") and "04 78 31 00 00" in trimmed


def test_sign_off_without_contact_lines_is_kept():
    text = "D'accord.\n\nBien cordialement,\nJeanne Dupont\nMairie de Meyzieu"
    assert split_quotes(text) == (text, "")


def test_dashes_in_the_middle_are_not_a_signature_when_far_from_the_end():
    text = "Intro\n--\n" + "\n".join(f"ligne {i}" for i in range(30))
    assert split_quotes(text) == (text, "")


@pytest.mark.parametrize("name, kept_end, trimmed_start", [
    ("outlook-fr-reply.eml", "**Jeanne Dupont**", "Chargée de mission"),
    ("outlook-web-divrplyfwdmsg.eml", "Sophie", "---\n\n**De :** Marc Leroy"),
    ("gmail-fr-wrapped-attribution.eml", "je teste ça demain.", "Le mar. 12 mars 2024 à 11:02"),
    ("zimbra-fr.eml", "Isabelle", "---\n\n**De:** \"Paul Martin\""),
    ("sogo-fr.eml", "Romain", "Le mardi, mars 12, 2024 10:15 CET"),
])
def test_html_bodies_of_real_clients(eml, name, kept_end, trimmed_start):
    """The same trimming when the HTML alternative is the one converted (Markdown input)."""
    from forumsync.mail.decode import part_text
    from forumsync.mail.html import html_to_markdown

    html = next(p for p in eml(name).walk() if p.get_content_type() == "text/html")
    kept, trimmed = split_quotes(html_to_markdown(part_text(html)))
    assert kept.endswith(kept_end) and trimmed.startswith(trimmed_start)


ANSWER = "Chez nous la démarche est en production depuis janvier."
SIGNATURE_LINES = "Sylvie Bernard\nChargée de projets numériques\nVille de Villeurbanne\nTél. : 04 78 03 68 00"


@pytest.mark.parametrize("separator", [
    "--",                 # typed by hand: no trailing space
    "\\--",              # the same once escaped for Markdown
    "-- ",
    "—",                  # em dash
    "–",                  # en dash
    "\\_\\_",            # « __ » escaped
    "__",
    "\\----------",       # a line of dashes, escaped
    "------------------------------",
    "---",                # an HTML <hr> converted
    "\\_\\_\\_\\_\\_\\_",
    "\u00a0--\u00a0",     # with non-breaking spaces around
])
def test_hand_typed_separator_above_name_role_collectivity_phone(separator):
    text = f"{ANSWER}\n\n{separator}\n{SIGNATURE_LINES}"
    assert split_trailing(text) == (ANSWER, f"{separator}\n{SIGNATURE_LINES}", "signature")


@pytest.mark.parametrize("signature", [
    "-- Sylvie Bernard\nVille de Villeurbanne\nTél. : 04 78 03 68 00",
    "--Sylvie Bernard\nChargée de mission\nsylvie.bernard@mairie-villeurbanne.fr",
    "—\n\nIsabelle Fontaine\n\nResponsable du pôle relation usagers\n\nCommunauté de communes du Pays de Gex",
    "__\nMathieu Roche\nService éducation - Mairie de Meyzieu\nmathieu.roche@meyzieu.fr",
    "---\nThomas Petit\n[www.grenoblealpesmetropole.fr](https://www.grenoblealpesmetropole.fr)",
])
def test_hand_typed_signature_variants(signature):
    assert split_trailing(f"{ANSWER}\n\n{signature}") == (ANSWER, signature, "signature")


@pytest.mark.parametrize("text", [
    f"{ANSWER}\n\n--\nJulie",                     # a closing that is only the first name
    f"{ANSWER}\n\n\\--\nJulie",
    f"{ANSWER}\n--\n\nJF",
    f"{ANSWER}\n\n-- \nJean-Marc",
    f"{ANSWER}\n\n—\nJulie",
    f"{ANSWER}\n\n\\_\\_\nJulie",
    f"{ANSWER}\n\nBonne journée,\nJulie",
    # a rule above prose is not a signature, even naming a service
    f"{ANSWER}\n\n---\nPS : la réunion du conseil est reportée au 4 avril.\nMerci de faire suivre.",
    f"{ANSWER}\n\n---\n\nÉtape 1 : créer le formulaire\nÉtape 2 : le publier",
    # sentences that start as a phone's signature, or a « PS » under the sign-off and the name
    # (red team, twenty-third pass: folded as « Signature », the question hidden)
    f"{ANSWER}\nEnvoyé depuis mon compte agent, le courriel arrive bien ; depuis un compte "
    "d'usager, jamais.\nAvez-vous déjà rencontré ce problème ?\n\nMerci,\nMarie",
    f"{ANSWER}\nEnvoyé avec la pièce jointe, en revanche, il part en erreur 500.\nUne piste ?\n\nPaul",
    f"{ANSWER}\n\nCordialement,\nMarie\n\nPS : les inscriptions se font auprès du secrétariat "
    "(04 72 00 00 00) avant le 20 décembre, places limitées à 15.",
    f"{ANSWER}\n\nCordialement,\nMarie\nTél : 04 72 00 00 00\nN.B. : la salle a changé.",
    # a dash line followed by a long text is content
    f"{ANSWER}\n\n—\n" + "\n".join(f"Ligne {i} du compte rendu, service de la ville" for i in range(12)),
])
def test_not_a_signature(text):
    assert split_trailing(text) == (text, "", "")


def test_signature_above_quoted_history_is_history():
    text = (f"{ANSWER}\n\n--\n{SIGNATURE_LINES}\n\nLe 12/03/2024 à 10:15, Paul Martin a écrit :\n"
            "> Bonjour,\n> une question ?")
    kept, trimmed, kind = split_trailing(text)
    assert kept == ANSWER and trimmed.startswith("--\nSylvie Bernard") and kind == "history"


def test_history_alone_is_history():
    assert split_trailing("Oui.\n\nLe 12/03/2024, Paul a écrit :\n> Question ?")[2] == "history"


_LINES = st.sampled_from([
    "Bonjour,", "", "> cité", ">> plus ancien", "Le 12/03/2024, Paul a écrit :", "-- ", "Cordialement,",
    "Jeanne", "Tél : 04 78 00 00 00", "De : Paul <p@x.fr>", "Envoyé : lundi", "Objet : x",
    "-----Message d'origine-----", "Envoyé de mon iPhone", "texte libre", "On Mon, Paul wrote:",
    "--", "—", "\\_\\_", "---", "Julie Martin", "Chargée de mission", "Ville de Lyon", "julie@lyon.fr",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=25))
def test_nothing_is_ever_lost(lines):
    text = "\n".join(lines)
    kept, trimmed = split_quotes(text)
    assert kept.strip() or not text.strip()
    if trimmed:
        assert [l.rstrip() for l in (kept + "\n" + trimmed).split("\n") if l.strip()] == \
            [l.rstrip() for l in text.split("\n") if l.strip()]
    else:
        assert kept == text


def test_a_long_line_after_a_phone_signature_opening_is_cheap():
    """Twenty-sixth pass: the links were stripped before the length was read: quadratic on a
    long word (1.5 s for 16,000 characters)."""
    import time

    from forumsync.mail import quotes

    started = time.process_time()
    assert not quotes._mobile_signature("Envoyé de mon iPhone " + ":" * 64_000)
    assert time.process_time() - started < 0.1

