"""The routing decision as a pure function: a table of subjects and bodies → theme and reason."""
import pytest

from forumsync.themes.routing import BODY_CAP, SUBJECT_POINTS, TAG_POINTS, route

THEMES = [
    dict(slug="sve", tags=["SVE"], keywords=["SVE", "saisine", "accusé de réception"],
         addresses=["sve@listes.example.org"]),
    dict(slug="open-data", tags=["OPENDATA", "OPEN DATA"], keywords=["open data", "données ouvertes"],
         addresses=[]),
    dict(slug="famille", tags=["FAMILLE"], keywords=["portail famille", "périscolaire", "cantine"],
         addresses=[]),
    dict(slug="general", tags=[], keywords=[], addresses=[]),
]
FORWARDED_WEBINAR = ("Pour info.\n\n---------- Forwarded message ---------\nDe : Accessibilité Numérique "
                     "<contact@webinaires.example.com>\nSubject: Invitation\n\nFormulaires, paiement, "
                     "inscription à la cantine, prise de rendez-vous : notre webinaire du 28 mars.")

# (recipients, tags, title, body) → (theme, reason)
TABLE = [
    # an address decides alone, whatever else scores
    (["sve@listes.example.org"], ["FAMILLE"], "Cantine", "la cantine, la cantine",
     "sve", "adresse sve@listes.example.org parmi les destinataires"),
    # a tag beats subject keywords and the body
    ([], ["famille"], "Données ouvertes et SVE", "open data, open data, open data",
     "famille", "étiquette [famille] dans le sujet"),
    ([], ["OPEN DATA"], "Question", "", "open-data", "étiquette [OPEN DATA] dans le sujet"),
    # a subject keyword beats any number of body mentions
    ([], [], "Cantine : tarifs", "la saisine " * 30, "famille", "mot-clé « cantine » dans le sujet"),
    ([], [], "Nos données ouvertes", "la cantine", "open-data", "mot-clé « données ouvertes » dans le sujet"),
    # two subject keywords of one theme beat one of another
    ([], [], "SVE et périscolaire : la cantine", "", "famille", "mot-clé « périscolaire » dans le sujet"),
    # equal scores: the order of THEMES
    ([], [], "SVE et cantine", "", "sve", "mot-clé « SVE » dans le sujet"),
    # body alone: needs the threshold (2)
    ([], [], "Question pratique", "Comment gérez-vous le PÉRISCOLAIRE ?", "general",
     "thème par défaut (mots-clés dans le message : « périscolaire » pour « famille », score 1 sous le seuil 2)"),
    ([], [], "Question pratique", "Le périscolaire… et encore le périscolaire.", "famille",
     "mots-clés dans le message : « périscolaire » ×2 (score 2, seuil 2)"),
    ([], [], "Question pratique", "La cantine et le périscolaire.", "famille",
     "mots-clés dans le message : « périscolaire », « cantine » (score 2, seuil 2)"),
    ([], [], "Invitation : webinaire accessibilité", FORWARDED_WEBINAR, "general",
     "thème par défaut (mots-clés dans le message : « cantine » pour « famille », score 1 sous le seuil 2)"),
    # whole words, accents and case folded, hyphens as spaces
    ([], [], "Les cantines", "", "general", "thème par défaut"),
    ([], [], "Asvelte", "", "general", "thème par défaut"),
    ([], [], "PORTAIL-FAMILLE", "", "famille", "mot-clé « portail famille » dans le sujet"),
    ([], [], "Accuse de reception", "", "sve", "mot-clé « accusé de réception » dans le sujet"),
    # nothing
    ([], ["INCONNU"], "Réunion du club", "À jeudi !", "general", "thème par défaut"),
]


@pytest.mark.parametrize("recipients, tags, title, body, theme, reason", TABLE)
def test_routing_table(recipients, tags, title, body, theme, reason):
    routing = route(THEMES, "general", recipients=recipients, tags=tags, title=title, body=body,
                    body_min_score=2)
    assert (routing.slug, routing.reason) == (theme, reason)


def test_scores_are_listed_best_first_with_their_hits():
    routing = route(THEMES, "general", tags=["SVE"], title="Accusé de réception des demandes de cantine",
                    body="La cantine ? La saisine ?", body_min_score=2)
    assert [(s.slug, s.points) for s in routing.scores] == [
        ("sve", TAG_POINTS + SUBJECT_POINTS + 1), ("famille", SUBJECT_POINTS + 1)]
    assert routing.scores[0].describe() == ("sve 111 (étiquette [SVE] dans le sujet ; mot-clé « accusé de "
                                            "réception » dans le sujet ; mot-clé « saisine » dans le message)")


def test_body_score_is_capped_below_one_subject_hit():
    routing = route(THEMES, "general", title="x", body="cantine " * 50, body_min_score=2)
    assert routing.scores[0].points == BODY_CAP < SUBJECT_POINTS
    assert routing.reason == "mots-clés dans le message : « cantine » ×50 (score 9, seuil 2)"


def test_threshold_and_defaults():
    assert route(THEMES, "general", title="x", body="la SVE", body_min_score=1).slug == "sve"
    assert route(THEMES, "general", title="x", body="la SVE, la SVE", body_min_score=3).slug == "general"
    assert route([], None, title="SVE").slug is None
    assert route(THEMES, "general", title="x", body="").scores == ()
