"""Issue 12.5: a refusal never becomes backscatter.

Mail to a forged or expired signed reply address posts nothing. The explanation goes only
to an authenticated sender or a list member, says nothing of the message (no subject, no
link, no Message-ID), and at most once per sender and hour — remembered in the database,
so restarting the worker does not reset it. The refused mail is dropped with its reason
visible in `forumsync inbox list`."""
from __future__ import annotations

import email
import time
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import update

from forumsync.context import Context
from forumsync.models import utcnow
from forumsync.models.refusal_log import RefusalLog
from forumsync.models.subscriber import Subscriber
from forumsync.outbound.replykeys import make_reply_address
from forumsync.pipeline.runner import run_pending
from tests.fixtures.pipeline import make_mail
from tests.security.service import Service

AUTHSERV = "mx.listes.example.org"
ECHO = "ÉCHO-piégé https://evil.example/hameçon"


@pytest.fixture
def env(tmp_path, db_url, localforum):
    service = Service(tmp_path, db_url, localforum, AUTHSERV_ID=AUTHSERV)
    service.welcome = service.ctx.forum.topic_create("Bienvenue à Paul Martin", "Présentez-vous en quelques lignes.",
                                                     service.themes["sve"])
    yield service
    service.close()


def _bad_address(env, sender, case):
    topic_id = env.welcome["topic_id"]
    if case == "expired":
        return make_reply_address(env.ctx.settings, sender, topic_id, now=time.time() - 40 * 86400)
    good = make_reply_address(env.ctx.settings, sender, topic_id)
    local, domain = good.split("@")
    return local[:-4] + ("aaaa" if not local.endswith("aaaa") else "bbbb") + "@" + domain


def _attack(env, sender, case="forged", n=0, authenticated=False):
    address = _bad_address(env, sender.split("<")[-1].strip(">"), case)
    headers = {"Authentication-Results": f"{AUTHSERV}; dmarc=pass header.from=grandlyon.fr"} \
        if authenticated else {}
    mail = make_mail(f"Re: Bienvenue {ECHO}", f"Voir {ECHO} et <https://evil.example/x>\n",
                     sender=sender, to=address, extra_headers=headers,
                     message_id=f"<echo-{case}-{n}-https-evil.example@evil.example>")
    return env.deliver(mail, rcpt=address)


def _refusals(env):
    return [m for m in env.outbox() if m.key.startswith("refusal:")]


def test_stranger_gets_no_answer_and_nothing_is_posted(env):
    posts = len(env.posts())
    row = _attack(env, "Inconnu <victime@grandlyon.fr>")
    assert row.state == "dropped"
    assert "adresse de réponse refusée" in row.reason and "aucune réponse envoyée" in row.reason
    assert _refusals(env) == []
    assert len(env.posts()) == posts
    listing = env.inbox_list()
    assert str(row.id) in listing and "adresse de réponse refusée" in listing
    assert "aucune réponse envoyée" in env.inbox_show(row.id)


@pytest.mark.parametrize("case", ["forged", "expired"])
def test_authenticated_sender_gets_one_refusal_that_echoes_nothing(env, case):
    row = _attack(env, "Paul <paul@grandlyon.fr>", case, authenticated=True)
    assert row.state == "dropped" and "réponse envoyée" in row.reason
    [refusal] = _refusals(env)
    assert refusal.recipients == ["paul@grandlyon.fr"]
    raw = refusal.raw
    message = email.message_from_bytes(raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    for leak in ("ÉCHO", "evil.example", "hameçon", "Bienvenue"):
        assert leak not in raw.decode("utf-8", "replace") and leak not in text and leak not in str(message["Subject"])
    assert message["In-Reply-To"] is None and message["References"] is None
    assert message["Auto-Submitted"] == "auto-replied"
    assert ("falsifiée" if case == "forged" else "expiré") in text


def test_list_member_at_most_one_refusal_an_hour_even_after_a_restart(env):
    with env.ctx.db.session() as s:
        s.add(Subscriber(source="liste", email="paul@grandlyon.fr", name="Paul", welcome="baseline"))
    rows = [_attack(env, "Paul <paul@grandlyon.fr>", n=n) for n in range(3)]
    assert len(_refusals(env)) == 1
    assert "réponse envoyée" in rows[0].reason
    assert all("déjà" in r.reason for r in rows[1:])

    # a restarted worker (new process state, same database) still remembers the hour
    restarted = Context(env.ctx.settings.replace())
    try:
        raw = make_mail("Re: Bienvenue", "Encore\n", sender="Paul <paul@grandlyon.fr>",
                        to=_bad_address(env, "paul@grandlyon.fr", "forged"), message_id="<apres-redemarrage@x.fr>")
        from forumsync.inbound.ingest import ingest

        ingest(restarted, raw, "lmtp", {"recipients": [_bad_address(env, "paul@grandlyon.fr", "forged")]})
        while run_pending(restarted, "autre-worker"):
            pass
    finally:
        restarted.close()
    assert len(_refusals(env)) == 1

    # an hour later, one more
    with env.ctx.db.session() as s:
        s.execute(update(RefusalLog).values(last_sent_at=utcnow() - timedelta(minutes=61)))
    _attack(env, "Paul <paul@grandlyon.fr>", n=9)
    assert len(_refusals(env)) == 2


def test_unsubscribed_member_is_a_stranger_again(env):
    with env.ctx.db.session() as s:
        s.add(Subscriber(source="liste", email="paul@grandlyon.fr", name="Paul", state="unsubscribed",
                         welcome="baseline"))
    row = _attack(env, "Paul <paul@grandlyon.fr>")
    assert "aucune réponse envoyée" in row.reason and _refusals(env) == []


def test_forged_from_of_a_member_with_failed_authentication_gets_no_answer(env):
    """From says a member, our MTA says someone else: the member is not mailed."""
    with env.ctx.db.session() as s:
        s.add(Subscriber(source="liste", email="paul@grandlyon.fr", name="Paul", welcome="baseline"))
    address = _bad_address(env, "paul@grandlyon.fr", "forged")
    mail = make_mail("Re: Bienvenue", "x\n", sender="Paul <paul@grandlyon.fr>", to=address,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc=fail header.from=grandlyon.fr"})
    row = env.deliver(mail, rcpt=address)
    assert row.state == "dropped"
    assert "aucune réponse envoyée" in row.reason and "échec" in row.reason
    assert _refusals(env) == []
