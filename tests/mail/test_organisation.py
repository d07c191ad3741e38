"""Organisation guesses: signature line first, then the domain; webmails give None."""
import pytest

from forumsync.mail.organisation import from_domain, from_signature, guess_organisation


@pytest.mark.parametrize("address, expected", [
    ("a@meyzieu.fr", "Meyzieu"), ("a@mairie-meyzieu.fr", "Meyzieu"), ("a@ville-saint-etienne.fr", "Saint Etienne"),
    ("a@cc-pays-de-gex.fr", "Pays de Gex"), ("a@agents.grandlyon.com", "Grandlyon"),
    ("a@interieur.gouv.fr", "Interieur"), ("a@gmail.com", None), ("a@orange.fr", None),
    ("a@wanadoo.fr", None), ("a@localhost", None), ("", None),
])
def test_from_domain(address, expected):
    assert from_domain(address) == expected


def test_from_signature():
    text = "Bonjour\n\nCordialement,\nJeanne\nService numérique\n**Mairie de Meyzieu**\nTél : 04 78 00 00 00"
    assert from_signature(text) == "Mairie de Meyzieu"
    assert from_signature("Conseil départemental de la Drôme, service SI") == \
        "Conseil départemental de la Drôme, service SI"
    assert from_signature("Bonjour, la mairie a répondu.\n\nJeanne") is None


def test_guess_prefers_signature():
    assert guess_organisation("j@gmail.com", "Merci\nCommunauté de communes du Pays de Gex") == \
        "Communauté de communes du Pays de Gex"
    assert guess_organisation("j@meyzieu.fr", "Merci") == "Meyzieu"
    assert guess_organisation("j@gmail.com", "Merci") is None
