"""What a forward's quoted header block says about the forwarded mail: was it list mail?"""
import pytest

from forumsync.mail.forwards import forwarded_headers, forwarded_message_ids, list_evidence

LISTS = ["club@listes.example.org", "sve@listes.example.org"]
TAG = "[club-publik]"


@pytest.mark.parametrize("name, evidence", [
    ("outlook-fr-tr-re-liste.eml", "adressé à la liste (club@listes.example.org)"),
    ("thunderbird-fr-fwd-own-list-mail.eml", "adressé à la liste (club@listes.example.org)"),
    ("gmail-fr-fwd-outside.eml", None),
    ("outlook-fr-forward.eml", None),     # a supplier's mail forwarded: outside mail
])
def test_testdata_forwards(understand, name, evidence):
    body = understand(name, upto="trim")["body"]
    assert list_evidence(body, LISTS, TAG) == evidence


@pytest.mark.parametrize("block, evidence", [
    # Outlook (Markdown from HTML: bold labels, escaped brackets, &lt;)
    ("**De :** Paul &lt;p@meyzieu.fr>\n**Envoyé :** mardi\n**À :** Club &lt;club@listes.example.org>\n"
     "**Objet :** Question", "adressé à la liste (club@listes.example.org)"),
    # Thunderbird, tabs, « Pour : » and a theme list address in copy
    ("Sujet : \tQuestion\nDate : \tTue, 5 Mar 2024\nDe : \tHugo <h@g.fr>\nPour : \tx@y.fr\n"
     "Copie à : \tsve@listes.example.org", "adressé à la liste (sve@listes.example.org)"),
    # Gmail FR, English labels, subject carrying the list tag (escaped)
    ("De : Paul <p@x.fr>\nDate: lun. 11 mars 2024\nSubject: Re: \\[club-publik\\] Question\nTo: <a@b.fr>",
     "dont l'objet porte l'étiquette [club-publik]"),
    ("De : Paul <p@x.fr>\nDate: lun. 11 mars 2024\nSubject: Re: [club-publik] Question\nTo: <a@b.fr>",
     "dont l'objet porte l'étiquette [club-publik]"),
    # outside mail
    ("De : Support <s@vendor.fr>\nEnvoyé : mardi\nÀ : Anne <anne@lyon.fr>\nObjet : Nouvelle version",
     None),
    # the list address in prose, not in a header block
    ("Écrivez à club@listes.example.org pour vous inscrire.", None),
    ("À : club@listes.example.org", None),   # a lone « À : » line is not a header block
])
def test_blocks(block, evidence):
    assert list_evidence(f"Pour info.\n\n{block}\n\nTexte transféré.", LISTS, TAG) == evidence


def test_quoted_forward_blocks_count_too():
    body = "Voir plus bas.\n\n> De : Paul <p@x.fr>\n> Envoyé : lundi\n> À : club@listes.example.org"
    assert list_evidence(body, LISTS, TAG) == "adressé à la liste (club@listes.example.org)"


def test_forwarded_message_ids():
    body = ("Pour info.\n\n-------- Message transféré --------\nSujet : Question\n"
            "Message-ID : &lt;abc@x.fr>\nDate : mardi\nDe : Paul <p@x.fr>")
    assert forwarded_message_ids(body) == ["abc@x.fr"]
    assert forwarded_message_ids("Message-ID : <abc@x.fr>") == []   # not in a header block
    assert [label for label, _ in forwarded_headers(body)] == ["sujet", "message-id", "date", "de"]
