"""route: address, then [TAG], then keywords (subject before body), then the default theme."""
import pytest

from forumsync.pipeline import route
from tests.fixtures.database import make_settings

CASES = {
    "theme-address-sve.eml": ("sve", "adresse sve@listes.example.org parmi les destinataires"),
    "outlook-web-divrplyfwdmsg.eml": ("open-data", "étiquette [OPENDATA] dans le sujet"),
    "format-flowed-delsp.eml": ("famille", "étiquette [FAMILLE] dans le sujet"),
    "outlook-message-d-origine.eml": ("famille", "mot-clé « cantine » dans le sujet"),
    "outlook-fr-reply.eml": ("sve", "mot-clé « saisine » dans le sujet"),
    "theme-keyword-body.eml": ("famille", "mot-clé « périscolaire » dans le message"),
    "no-message-id.eml": ("general", "thème par défaut"),
    "gmail-en-on-wrote.eml": ("general", "thème par défaut"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_testdata_routing(understand, name):
    data = understand(name)
    assert (data["theme"], data["route_reason"]) == CASES[name]


def test_replies_to_known_topics_are_not_routed(understand):
    data = understand("theme-address-sve.eml", upto="trim", topic_id=42)
    from forumsync.pipeline import route as stage
    stage.process(None, None, data)
    assert "theme" not in data and "route_reason" not in data


def _choose(settings, **msgdata):
    return route.choose_theme(settings, msgdata)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}")


def test_priority_address_over_tag_over_keyword(settings):
    assert _choose(settings, recipients=["sve@listes.example.org"], subject_tags=["FAMILLE"],
                   title="open data")[0] == "sve"
    assert _choose(settings, recipients=[], subject_tags=["famille"], title="open data")[0] == "famille"
    assert _choose(settings, title="Nos données ouvertes", body="la cantine")[0] == "open-data"


def test_keywords_are_accent_case_insensitive_whole_words(settings):
    assert _choose(settings, title="DONNEES OUVERTES")[0] == "open-data"
    assert _choose(settings, title="Portail-Famille")[0] == "famille"
    assert _choose(settings, title="Les cantines")[0] == "general"        # whole words only
    assert _choose(settings, title="Asvelte")[0] == "general"             # "SVE" inside a word
    assert _choose(settings, title="x", body="Parlons de la SVE.")[0] == "sve"


def test_subject_keyword_beats_body_keyword(settings):
    assert _choose(settings, title="Cantine", body="la saisine")[0] == "famille"


def test_quoted_block_is_not_used_for_keywords(settings):
    body = 'Bonjour\n\n[details="Message cité"]\nla cantine\n[/details]'
    assert _choose(settings, title="x", body=body) == ("general", "thème par défaut")


def test_unknown_tags_ignored(settings):
    assert _choose(settings, subject_tags=["INCONNU"], title="x")[0] == "general"


def test_no_themes_gives_none(tmp_path):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}", THEMES=[], DEFAULT_THEME=None)
    assert _choose(settings, title="x") == (None, "thème par défaut")
