"""Red-team pass 14: the pass-13 rule (list mail writes only where everyone may) covers a
reply, and the bridge's fallback; not a *new topic*. A theme category where « everyone » may
only read (or only reply) still receives new topics from any stranger's mail: with the
plugin, the staged post is created with skip_guardian, and nothing checks the category first.
The continuation of a closed topic is such a new topic: a lead who closes the topic and makes
the theme read-only still got a stranger's text there. Now such a topic opens in the default
theme (``categories.list_topic_category_id``), and when no category takes it, the message is
quarantined with its reason: never lost, never written where its sender could not."""
from __future__ import annotations

from tests.fixtures.pipeline import make_mail
from tests.security.service import service  # noqa: F401 - fixture


def _read_only(service, slug, level=3):
    service.ctx.forum.category_update(service.themes[slug], permissions={"everyone": level, "staff": 1})
    service.ctx.forum.facts.invalidate_categories()  # as the category webhook would


def _topics_in(service, category_id):
    from sqlalchemy import select

    from forumsync.localforum.models import Topic

    with service.forum.session() as s:
        return [t.id for t in s.scalars(select(Topic).where(Topic.category_id == category_id))]


def test_a_new_topic_from_the_list_is_not_opened_in_a_read_only_theme(service):
    before = _topics_in(service, service.themes["sve"])
    _read_only(service, "sve")
    row = service.deliver(make_mail("[SVE] Faux avis officiel", "La SVE est suspendue, voir http://evil.example\n",
                                    sender="Pirate <pirate@evil.example>"))
    assert _topics_in(service, service.themes["sve"]) == before, f"{row.state} — {row.reason}"
    assert row.state == "published" and row.topic_id in _topics_in(
        service, service.themes[service.ctx.settings.DEFAULT_THEME]), row.reason


def test_the_continuation_of_a_closed_topic_is_not_opened_in_a_read_only_theme(service):
    first = service.deliver(make_mail("[SVE] Accusé de réception", message_id="<ro0@a.fr>"))
    assert first.state == "published", first.reason
    service.ctx.forum.topic_status_set(first.topic_id, "closed", True)
    _read_only(service, "sve", level=2)  # everyone may reply, not open a topic
    before = _topics_in(service, service.themes["sve"])
    row = service.deliver(make_mail("Re: [SVE] Accusé de réception", "Réponse.", message_id="<ro1@b.fr>",
                                    in_reply_to="<ro0@a.fr>", references="<ro0@a.fr>",
                                    sender="Pirate <pirate@evil.example>"))
    assert _topics_in(service, service.themes["sve"]) == before, f"{row.state} — {row.reason}"
    assert row.state == "published" and row.topic_id in _topics_in(
        service, service.themes[service.ctx.settings.DEFAULT_THEME]), row.reason


def test_with_no_theme_open_to_new_topics_the_message_is_quarantined_with_its_reason(service):
    for slug in {"sve", service.ctx.settings.DEFAULT_THEME}:
        _read_only(service, slug)
    row = service.deliver(make_mail("[SVE] Une question", "Bonjour.", sender="Jean <jean@b.fr>"))
    assert row.state == "quarantined" and "aucune catégorie où tout le monde peut ouvrir un sujet" in row.reason
