"""route: address, then the best score of [TAG], subject keywords and body mentions (a body
alone needs THEME_BODY_MIN_SCORE), then the default theme. The scoring table is in
test_route_table.py."""
import pytest

from forumsync.pipeline import route
from tests.fixtures.database import make_settings

CASES = {
    "theme-address-sve.eml": ("sve", "adresse sve@listes.example.org parmi les destinataires"),
    "outlook-web-divrplyfwdmsg.eml": ("open-data", "étiquette [OPENDATA] dans le sujet"),
    "format-flowed-delsp.eml": ("famille", "étiquette [FAMILLE] dans le sujet"),
    "outlook-message-d-origine.eml": ("famille", "mot-clé « cantine » dans le sujet"),
    "outlook-fr-reply.eml": ("sve", "mot-clé « saisine » dans le sujet"),
    # one mention in the body is not enough (THEME_BODY_MIN_SCORE = 2)
    "theme-keyword-body.eml": ("general", "thème par défaut (mots-clés dans le message : « périscolaire » "
                                          "pour « famille », score 1 sous le seuil 2)"),
    # issue 14: a forwarded text naming « cantine » once, in passing
    "gmail-fr-fwd-outside.eml": ("general", "thème par défaut (mots-clés dans le message : « cantine » "
                                            "pour « famille », score 1 sous le seuil 2)"),
    "roundcube-fr-signature-soulignes.eml": ("famille", "mots-clés dans le message : « périscolaire » ×2 "
                                                        "(score 2, seuil 2)"),
    # the [SVE] tag outweighs « cantine » three times in the body
    "outlook-fr-tag-sve-body-cantine.eml": ("sve", "étiquette [SVE] dans le sujet"),
    # the subject before a quoted forward's words
    "thunderbird-fr-fwd-own-list-mail.eml": ("famille", "mot-clé « périscolaire » dans le sujet"),
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
    assert _choose(settings, title="x", body="Parlons de la SVE. La SVE, encore.")[0] == "sve"
    assert _choose(settings, title="x", body="Parlons de la SVE.")[0] == "general"  # in passing


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


def test_body_threshold_is_a_setting(tmp_path):
    strict = make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}", THEME_BODY_MIN_SCORE=3)
    assert _choose(strict, title="x", body="la cantine, la cantine")[0] == "general"
    assert _choose(strict, title="x", body="la cantine, la cantine, le périscolaire")[0] == "famille"
    lax = make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}", THEME_BODY_MIN_SCORE=1)
    assert _choose(lax, title="x", body="la cantine")[0] == "famille"


def test_folded_signature_is_not_used_for_keywords(settings):
    body = 'Bonjour\n\n[details="Signature"]\nService cantine, portail famille\n[/details]'
    assert _choose(settings, title="x", body=body) == ("general", "thème par défaut")


def test_stage_keeps_the_scores(understand):
    data = understand("outlook-fr-tag-sve-body-cantine.eml")
    assert data["route_scores"] == ["sve 101 (étiquette [SVE] dans le sujet ; mot-clé « SVE » dans le message)",
                                    "famille 3 (mot-clé « cantine » ×3 dans le message)"]


@pytest.mark.parametrize("subject, theme", [
    ("[club-publik] [Portail famille] Inscriptions 2025", "famille"),
    ("[club-publik] [Données ouvertes] Jeux de délibérations", "open-data"),
])
def test_a_keyword_written_in_brackets_routes_the_topic(tmp_path, subject, theme):
    """Red team, 31st pass: the bracketed words leave the title as tags, and keywords were
    looked for in the title alone: both went to the default theme."""
    from forumsync.mail.subjects import clean_subject

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}")
    title, tags = clean_subject(subject, settings.LIST_TAG)
    got = route.choose_theme(settings, {"subject": subject, "title": title, "subject_tags": tags,
                                        "recipients": [], "body": "Bonjour à tous,"})
    assert got[0] == theme, (title, tags, got)


def test_a_theme_not_relayed_to_the_list_takes_no_list_mail(tmp_path):
    """Red team, 31st pass: a « mirrored: False » theme took list questions whose forum answers
    never went back to the list. Its keywords and tags no longer route list mail; the default
    theme must be relayed."""
    from forumsync.settings import SettingsError

    base = make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}")
    themes = [dict(t, mirrored=t["slug"] != "open-data") for t in base.THEMES]
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}", THEMES=themes)
    got = route.choose_theme(settings, {"subject": "[OPENDATA] Délibérations", "title": "Délibérations",
                                        "subject_tags": ["OPENDATA"], "recipients": [],
                                        "body": "Comment publiez-vous vos données ouvertes ?"})
    assert got[0] == settings.DEFAULT_THEME != "open-data", got
    with pytest.raises(SettingsError, match="« open-data » n'est pas relayé vers la liste"):
        make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}", THEMES=themes, DEFAULT_THEME="open-data")
    with pytest.raises(SettingsError, match="aucun thème n'est relayé vers la liste"):
        make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}",
                      THEMES=[dict(t, mirrored=False) for t in base.THEMES], DEFAULT_THEME=None)
    first_unmirrored = [dict(t, mirrored=i != 0) for i, t in enumerate(base.THEMES)]
    assert make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}", THEMES=first_unmirrored,
                         DEFAULT_THEME=None).DEFAULT_THEME == base.THEMES[1]["slug"]
