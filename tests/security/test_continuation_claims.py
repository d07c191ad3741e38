"""Red-team pass 14: the continuation of a closed topic was found by the root ``suite:<id>``,
which is also what a mail's own Message-ID ``<suite:<id>>`` normalises to. A stranger who
wrote first under that Message-ID (topic ids are public and sequential) owned the
continuation: later list replies to the closed topic landed in the stranger's topic, under the
stranger's title, in the theme the stranger chose. The continuation is now recorded where
mail cannot write (``closed_topic.CONTINUATION_KEY``, a StateValue): no id a mail names,
neither the old root nor the key itself, claims it."""
import pytest

from forumsync.pipeline.closed_topic import CONTINUATION_KEY
from tests.fixtures.pipeline import later, make_mail

CLAIMS = ["suite:{topic_id}", CONTINUATION_KEY]


def _closed_topic(pipe):
    root = pipe.send(make_mail("[SVE] Accusé de réception", message_id="<lead0@a.fr>"))
    assert root.state == "published", root.reason
    return root


def _reply_to_closed(pipe, n=1):
    return pipe.send(make_mail("Re: [SVE] Accusé de réception", f"Réponse {n}.",
                               message_id=f"<lead-r{n}@b.fr>", in_reply_to="<lead0@a.fr>",
                               references="<lead0@a.fr>", date=later(hours=n)))


@pytest.mark.parametrize("claim", CLAIMS)
def test_a_mail_whose_message_id_is_the_continuation_root_does_not_become_the_continuation(pipe, claim):
    root = _closed_topic(pipe)
    # the stranger squats the continuation root ahead, in another theme, with a title of theirs
    raw = make_mail("[OPENDATA] Sujet fermé : écrivez plutôt à support@evil.example",
                    "Ce sujet continue ici.", message_id="<placeholder@evil.example>",
                    sender="Mallory <mallory@evil.example>")
    # (written raw: the email package folds an id without "@"; the MTA passes it as sent)
    raw = raw.replace(b"<placeholder@evil.example>",
                      f"<{claim.format(topic_id=root.topic_id)}>".encode())
    squat = pipe.send(raw)
    assert squat.state == "published", squat.reason
    assert pipe.topic(squat.topic_id)["category_id"] == pipe.themes["open-data"]
    pipe.ctx.forum.topic_status_set(root.topic_id, "closed", True)

    row = _reply_to_closed(pipe)
    assert row.state == "published", row.reason
    # expected: the reply opens the closed topic's real continuation, in its theme (SVE),
    # with the notice; never the stranger's topic
    assert row.topic_id != squat.topic_id, row.reason
    assert pipe.topic(row.topic_id)["category_id"] == pipe.themes["sve"]
    assert "Suite du sujet fermé sur le forum" in pipe.post(row.post_id)["raw"]


@pytest.mark.parametrize("claim", CLAIMS)
def test_a_reference_to_the_continuation_root_does_not_claim_it_ahead(pipe, claim):
    root = _closed_topic(pipe)
    # an orphan "reply" whose oldest reference is the continuation root opens a topic with that root
    squat = pipe.send(make_mail("Re: [OPENDATA] Suite", "Ce sujet continue ici.",
                                message_id="<squat2@evil.example>",
                                references=f"<{claim.format(topic_id=root.topic_id)}>",
                                sender="Mallory <mallory@evil.example>"))
    assert squat.state == "published", squat.reason
    pipe.ctx.forum.topic_status_set(root.topic_id, "closed", True)

    row = _reply_to_closed(pipe)
    assert row.state == "published", row.reason
    assert row.topic_id != squat.topic_id, row.reason
    assert pipe.topic(row.topic_id)["category_id"] == pipe.themes["sve"]
