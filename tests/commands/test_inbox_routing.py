"""`forumsync inbox show` states the theme a message gets, every theme's score and the reason."""
import pytest

from forumsync.context import Context
from forumsync.inbound.ingest import ingest
from tests.fixtures.database import make_settings
from tests.fixtures.inbound import run_cli, write_settings_file
from tests.fixtures.mail import eml_bytes
from tests.fixtures.pipeline import later, make_mail


@pytest.fixture
def context(tmp_path, sqlite_url):
    ctx = Context(make_settings(tmp_path, sqlite_url))
    yield ctx
    ctx.close()


def _show(tmp_path, settings, inbox_id) -> str:
    shown = run_cli(write_settings_file(tmp_path, settings), "inbox", "show", inbox_id)
    assert shown.returncode == 0, shown.stderr.decode()
    return shown.stdout.decode()


def test_show_states_scores_and_reason(tmp_path, context):
    tagged = ingest(context, eml_bytes("outlook-fr-tag-sve-body-cantine.eml"), "lmtp").inbox_id
    passing = ingest(context, eml_bytes("gmail-fr-fwd-outside.eml"), "lmtp").inbox_id
    shown = _show(tmp_path, context.settings, tagged)
    assert "Thème (recalculé avec les réglages actuels) :" in shown
    assert "  thème retenu : sve — étiquette [SVE] dans le sujet" in shown
    assert "seuil des mots-clés du seul message (THEME_BODY_MIN_SCORE) : 2" in shown
    scores = shown[shown.index("  scores :"):].splitlines()
    assert scores[1:3] == ["    sve 101 (étiquette [SVE] dans le sujet ; mot-clé « SVE » dans le message)",
                           "    famille 3 (mot-clé « cantine » ×3 dans le message)"]
    shown = _show(tmp_path, context.settings, passing)
    assert ("  thème retenu : general — thème par défaut (mots-clés dans le message : « cantine » pour "
            "« famille », score 1 sous le seuil 2)") in shown
    assert "    famille 1 (mot-clé « cantine » dans le message)" in shown
    # the threshold is a setting: with 1, the passing mention wins
    lax = context.settings.replace(THEME_BODY_MIN_SCORE=1)
    assert "  thème retenu : famille — mots-clés dans le message : « cantine » (score 1, seuil 1)" in \
        _show(tmp_path, lax, passing)


def test_show_without_any_score(tmp_path, context):
    inbox_id = ingest(context, make_mail("Réunion du club", "À jeudi !"), "lmtp").inbox_id
    shown = _show(tmp_path, context.settings, inbox_id)
    assert "  thème retenu : general — thème par défaut" in shown
    assert "  scores : aucun thème n'a de point (ni adresse, ni étiquette, ni mot-clé)" in shown


def test_show_says_a_reply_follows_its_topic(tmp_path, pipe):
    root = pipe.send(make_mail("[club-publik] Paiement de la cantine", message_id="<cant-0@a.fr>"))
    reply = pipe.send(make_mail("Re: [club-publik] Paiement de la cantine", "Nous aussi.",
                                in_reply_to="<cant-0@a.fr>", date=later(hours=1)))
    shown = _show(tmp_path, pipe.ctx.settings, reply.id)
    assert (f"  (publié en réponse dans le sujet {root.topic_id} : une réponse suit le thème de son sujet, "
            f"ce calcul ne s'y applique pas)") in shown
    assert "publié en réponse" not in _show(tmp_path, pipe.ctx.settings, root.id)
