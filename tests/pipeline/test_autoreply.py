"""autoreply: RFC 3834 headers, Precedence, anchored French/English subjects."""
import pytest

from forumsync.mail import parse_bytes
from forumsync.pipeline import autoreply
from forumsync.pipeline.errors import Drop
from tests.fixtures.mail import TESTDATA

AUTOREPLIES = {
    "autoreply-fr-reponse-automatique.eml": "Auto-Submitted",
    "autoreply-fr-absence-du-bureau-subject-only.eml": "sujet",
    "autoreply-en-out-of-office.eml": "X-Autoreply",
    "autoreply-auto-submitted-neutral-subject.eml": "Auto-Submitted",
    "autoreply-precedence-junk.eml": "Precedence",
}
NOT_PEOPLE = {"bounce-dsn.eml"}  # a DSN is auto-submitted too: dropped here or by bounce


@pytest.mark.parametrize("name, why", sorted(AUTOREPLIES.items()))
def test_autoreplies_dropped(understand, name, why):
    with pytest.raises(Drop) as info:
        understand(name, upto="autoreply")
    assert info.value.reason.startswith("réponse automatique") and why in info.value.reason


@pytest.mark.parametrize("name", sorted(p.name for p in TESTDATA.glob("*.eml")
                                        if p.name not in AUTOREPLIES and p.name not in NOT_PEOPLE))
def test_people_pass(eml, name):
    """Including « RE: Absence de connecteur » and every list message (Precedence: list)."""
    assert autoreply.check(eml(name)) == (False, "")


def _msg(subject="Question", **headers):
    head = "".join(f"{k.replace('_', '-')}: {v}\n" for k, v in headers.items())
    return parse_bytes(f"From: a@x.fr\nSubject: {subject}\n{head}\nbody".encode())


@pytest.mark.parametrize("subject", [
    "Réponse automatique : Question", "RÉPONSE AUTOMATIQUE: x", "Absence du bureau : x", "Absent : x",
    "Absente jusqu'au 18 mars", "Absent", "Message d'absence", "Message d’absence : x",
    "Out of Office: x", "Out of the office", "Automatic reply: x", "Auto: x", "AutoReply: x",
    "Auto-Reply: x", "Abwesenheitsnotiz: x", "Automatische Antwort: x", "[club-publik] Réponse automatique",
    "Je suis absente", "Risposta automatica: x",
])
def test_autoreply_subjects(subject):
    auto, reason = autoreply.check(_msg(subject))
    assert auto and "sujet" in reason


@pytest.mark.parametrize("subject", [
    "RE: Absence de connecteur", "Absence de connecteur pour la saisine", "Re: Réponse automatique à la saisine ?",
    "Absentéisme des agents", "Autorisation d'urbanisme", "Automatisation des relances",
    "TR: Out of office connector", "Lu et approuvé",
])
def test_ordinary_subjects_pass(subject):
    assert autoreply.check(_msg(subject)) == (False, "")


@pytest.mark.parametrize("headers, dropped", [
    ({"Auto_Submitted": "auto-replied"}, True),
    ({"Auto_Submitted": "auto-generated"}, True),
    ({"Auto_Submitted": "no"}, False),
    ({"Auto_Submitted": "No (comment)"}, False),
    ({"X_Autoreply": "yes"}, True),
    ({"X_Autorespond": "Votre message"}, True),
    ({"Precedence": "bulk"}, True),
    ({"Precedence": "junk"}, True),
    ({"Precedence": "auto_reply"}, True),
    ({"Precedence": "list"}, False),
    ({"X_Auto_Response_Suppress": "All"}, False),  # a request about replies to this mail, alone
    ({"X_Auto_Response_Suppress": "OOF", "X_MS_Exchange_Generated_Message_Source": "Mailbox Rules Agent"}, True),
])
def test_headers(headers, dropped):
    assert autoreply.check(_msg(**headers))[0] is dropped


def test_process_raises_drop_only_for_autoreplies(mail_ctx):
    autoreply.process(mail_ctx, _msg("RE: Absence de connecteur", Precedence="list"), {})
    with pytest.raises(Drop):
        autoreply.process(mail_ctx, _msg("Out of Office"), {})
