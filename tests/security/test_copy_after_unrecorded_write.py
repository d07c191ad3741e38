"""Red team, twenty-second pass: a row whose write may be on the forum (attempt cut short) was dropped by the
operator; its held copies "stay held" (operations.drop, twenty-first pass). But since
``msgdata.post_key`` a copy never looks for the first copy's post any more, and other paths
still let a copy be published beside it:

- a further copy of the Message-ID arriving after the drop (``copies.place``: no live row in
  the family, so it goes to ``new`` at once);
- the bulk « retry all quarantined » (``operations.retry_quarantined``), which retries the
  held copy the drop just left held (quarantined: another sender) with no warning.

Either way the message was on the forum twice; and a first copy set aside after crashes
released its copy the same way. A copy now first looks for the Message-ID's own post (another
copy's, never recorded): found, nothing is written, the copy is quarantined with its reason
(``reconcile.refuse_if_another_copy_is_on_the_forum``).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import delete, select

from forumsync.inbound import operations
from forumsync.models import InboxMessage, PostLink
from tests.fixtures.pipeline import make_mail
from tests.security.service import Service

AUTHSERV = "mx.listes.example.org"
MARIE = "Marie Dupont <marie.dupont@meyzieu.fr>"
MID = "<CAF+rt22-twice@mail.meyzieu.fr>"


def _marie(body: str, sender=MARIE, domain="meyzieu.fr") -> bytes:
    return make_mail("Question SVE", body, sender=sender, message_id=MID,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc=pass header.from={domain}"})


def _rows(service):
    with service.ctx.db.session() as s:
        rows = list(s.scalars(select(InboxMessage).order_by(InboxMessage.id)))
        s.expunge_all()
        return rows


def _written_not_recorded(service, inbox_id):
    """The row was published on the forum, then its end was never recorded (forum timeout)."""
    with service.ctx.db.session() as s:
        row = s.get(InboxMessage, inbox_id)
        assert row.state == "published", row.reason
        post = row.post_id
        row.state, row.post_id, row.topic_id = "retry", None, None
        row.next_attempt_at = datetime.now(timezone.utc) + timedelta(hours=1)
        s.execute(delete(PostLink).where(PostLink.post_id == post))  # a copy's link is under its own id
    return post


@pytest.fixture(params=[True, False], ids=["plugin", "bridge"])
def service(request, tmp_path, sqlite_url, localforum):
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    s = Service(tmp_path, sqlite_url, localforum, plugin=request.param, AUTHSERV_ID=AUTHSERV)
    yield s
    s.close()


def _written_unrecorded_then_dropped(service, inbox_id) -> None:
    """Row INBOX_ID written on the forum, its end never recorded, then dropped by the operator
    (it « may be on the forum »: the copies behind it stay held)."""
    _written_not_recorded(service, inbox_id)
    assert len(_marie_posts(service)) == 1
    with service.ctx.db.session() as s:
        assert operations.drop(s, inbox_id, "bloqué") == 1


def _marie_posts(service):
    return [p for p in service.posts() if "Texte de Marie" in p.raw]


def test_a_copy_arriving_after_the_drop_is_not_a_second_post(service):
    first = service.pipe.feed(_marie("Texte de Marie\n"), channel="lmtp")
    service.pipe.run()
    _written_unrecorded_then_dropped(service, first)
    # the same mail comes again with another content (the list's copy, with its footer)
    service.pipe.feed(_marie("Texte de Marie\n\n-- \nListe du club\n"), channel="lmtp")
    service.pipe.run()
    assert len(_marie_posts(service)) == 1, \
        f"Marie's mail is on the forum twice: {[r.state for r in _rows(service)]}"


def test_the_bulk_retry_does_not_release_a_copy_the_drop_left_held(service):
    first = service.pipe.feed(_marie("Texte de Marie\n"), channel="lmtp")
    service.pipe.run()
    _written_not_recorded(service, first)
    # the same Message-ID from another address: held in quarantine behind the first
    other = service.pipe.feed(_marie("Texte de Marie (copie)\n", sender="Marie <marie@autre.example>",
                                     domain="autre.example"), channel="lmtp")
    with service.ctx.db.session() as s:
        assert s.get(InboxMessage, other).state == "quarantined"
        assert operations.drop(s, first, "bloqué") == 1
    assert _rows(service)[1].state == "quarantined"  # left held, for the operator
    # the routine « retry all quarantined » (dashboard / CLI --all-quarantined)
    with service.ctx.db.session() as s:
        operations.retry_quarantined(s)
    service.pipe.run()
    assert len(_marie_posts(service)) == 1, \
        f"the copy the drop kept held was published beside the first: {[r.state for r in _rows(service)]}"


def test_a_first_copy_set_aside_after_interruptions_does_not_release_a_second_post(service):
    """The first copy was written on the forum, then its worker died on it again and again
    (``runner``: set aside, quarantined, after INTERRUPTED_MAX): that end releases the copy held
    behind it (``release_held_copy``), which no longer looks for the first copy's post."""
    first = service.pipe.feed(_marie("Texte de Marie\n"), channel="lmtp")
    service.pipe.run()
    _written_not_recorded(service, first)
    copy = service.pipe.feed(_marie("Texte de Marie\n\n-- \nListe du club\n"), channel="lmtp")
    with service.ctx.db.session() as s:
        assert s.get(InboxMessage, copy).reason.startswith("autre copie")  # held
        row = s.get(InboxMessage, first)
        row.interrupted = 3  # in hand at three worker deaths (queues.INTERRUPTED_MAX)
        row.next_attempt_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    service.pipe.run()
    service.pipe.run()
    assert len(_marie_posts(service)) == 1, \
        f"Marie's mail is on the forum twice: {[(r.state, r.reason[:40]) for r in _rows(service)]}"


def test_a_copy_does_not_go_beside_an_earlier_copy_written_under_its_own_id(service):
    """Twenty-third pass: the first copy never went to the forum (dropped by the operator), a
    second copy was then written under its own id (``copie.N.…``) and its end never recorded,
    and the operator dropped it too. A third copy looked only for the Message-ID's own post:
    it was published beside the second."""
    first = service.pipe.feed(_marie("Texte de Marie\n"), channel="lmtp")
    with service.ctx.db.session() as s:
        assert operations.drop(s, first, "doublon supposé") == 1
    second = service.pipe.feed(_marie("Texte de Marie\n\n-- \nListe du club\n"), channel="lmtp")
    service.pipe.run()
    _written_unrecorded_then_dropped(service, second)
    third = service.pipe.feed(_marie("Texte de Marie\n\n-- \nListe du club (bis)\n"), channel="lmtp")
    service.pipe.run()
    assert len(_marie_posts(service)) == 1, \
        f"Marie's mail is on the forum twice: {[(r.state, r.reason[:40]) for r in _rows(service)]}"
    with service.ctx.db.session() as s:
        row = s.get(InboxMessage, third)
        assert row.state == "quarantined" and "déjà sur le forum" in row.reason, row.reason


def _first_copy_retried_after_its_copy_was_written_and_dropped(service):
    """The first copy quarantined (here by hand; a DMARC failure does the same), its copy
    written without its end recorded and dropped by the operator, then every quarantined row
    retried (the routine « Réessayer tout »): the first copy is queued again."""
    first = service.pipe.feed(_marie("Texte de Marie\n"), channel="lmtp")
    with service.ctx.db.session() as s:
        row = s.get(InboxMessage, first)
        row.state, row.reason = "quarantined", "à vérifier"
    second = service.pipe.feed(_marie("Texte de Marie\n\n-- \nListe du club\n"), channel="lmtp")
    service.pipe.run()
    _written_unrecorded_then_dropped(service, second)
    with service.ctx.db.session() as s:
        operations.retry_quarantined(s)


def test_the_first_copy_retried_after_a_copys_unrecorded_write_is_not_a_second_post(service):
    """Twenty-third pass, the symmetric path: the first copy (no ``copy_of``) did not look for
    its copies' posts."""
    _first_copy_retried_after_its_copy_was_written_and_dropped(service)
    service.pipe.run()
    assert len(_marie_posts(service)) == 1, \
        f"Marie's mail is on the forum twice: {[(r.id, r.state, r.reason[:50]) for r in _rows(service)]}"


def test_the_first_copy_retried_in_a_backlog_batch_looks_for_its_copies_posts(tmp_path, sqlite_url, localforum):
    """The same, for a staged sender whose retried first copy meets a backlog: a batch item
    skipped ``reconcile``; a Message-ID with copies is now run alone, through it."""
    from forumsync.pipeline.runner import run_pending

    s = Service(tmp_path, sqlite_url, localforum, plugin=True, AUTHSERV_ID=AUTHSERV)
    try:
        _first_copy_retried_after_its_copy_was_written_and_dropped(s)
        others = [s.pipe.feed(make_mail(f"Autre sujet {n}", f"Texte {n}\n", sender=f"agent{n}@lyon.fr",
                                        message_id=f"<rt23-other-{n}@lyon.fr>"), channel="lmtp")
                  for n in range(3)]
        assert run_pending(s.ctx, "test-worker", batch_threshold=1) == 4
        s.pipe.run()
        assert len(_marie_posts(s)) == 1, \
            f"Marie's mail is on the forum twice: {[(r.id, r.state, r.reason[:50]) for r in _rows(s)]}"
        assert all(s.pipe.row(other).state == "published" for other in others)
    finally:
        s.close()


ROOT = "<CAF+rt46-root@mail.meyzieu.fr>"


def _reply(body: str, message_id=MID, sender=MARIE) -> bytes:
    return make_mail("Re: Question SVE", body, sender=sender, message_id=message_id, in_reply_to=ROOT,
                     references=ROOT,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc=pass header.from=meyzieu.fr"})


def test_a_copy_held_behind_a_post_the_operator_deleted_on_the_forum_is_published_on_retry(service):
    """Red team, 46th pass. The quarantine says: compare the two, then delete the forum's one
    and retry this copy. Both Message-ID lookups answer a deleted post to the admin key (the
    local forum did; the plugin's PostLookup now does, as Discourse's GET /posts/{id}.json for
    staff): the deleted post still counted as another copy on the forum, and the retry was held
    again with the same instruction, for ever."""
    service.pipe.feed(make_mail("Question SVE", "Une question de Paul sur la SVE, un peu détaillée.\n",
                                sender="Paul Martin <paul.martin@meyzieu.fr>", message_id=ROOT,
                                extra_headers={"Authentication-Results":
                                               f"{AUTHSERV}; dmarc=pass header.from=meyzieu.fr"}),
                      channel="lmtp")
    service.pipe.run()
    first = service.pipe.feed(_reply("Texte de Marie\n"), channel="lmtp")
    service.pipe.run()
    _written_unrecorded_then_dropped(service, first)
    copy = service.pipe.feed(_reply("Texte de Marie\n\n-- \nListe du club\n"), channel="lmtp")
    service.pipe.run()
    with service.ctx.db.session() as s:
        row = s.get(InboxMessage, copy)
        assert row.state == "quarantined" and "supprimez celle du forum et réessayez" in row.reason
    written = _marie_posts(service)[0]
    answer = requests.delete(f"{service.forum.url}/posts/{written.id}.json", headers=service.forum.headers(),
                             timeout=10)
    assert answer.status_code == 200
    with service.ctx.db.session() as s:
        assert operations.retry(s, copy) == 1
    service.pipe.run()
    with service.ctx.db.session() as s:
        row = s.get(InboxMessage, copy)
        assert row.state == "published", row.reason
    assert [p.deleted_at is None for p in _marie_posts(service)] == [False, True]
