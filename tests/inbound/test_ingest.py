"""ingest(): stored and committed before returning, one row per Message-ID, clear refusals."""
import threading

import pytest
from sqlalchemy import func, select

from forumsync.context import Context
from forumsync.db import Database
from forumsync import queues
from forumsync.inbound.ingest import Refused, accepted_recipient, ingest
from forumsync.queues import register_wakeup, unregister_wakeup
from forumsync.inbound.copies import COPY_HELD
from forumsync.models import InboxMessage
from forumsync.models.inbox import claimed_message_id
from tests.fixtures.pipeline import make_mail


def count(ctx):
    with ctx.db.session() as s:
        return s.scalar(select(func.count(InboxMessage.id)))


def test_stores_raw_with_summary_fields(context):
    raw = make_mail(subject="Réunion du club", sender="Jérôme Martin <jerome@ville.fr>",
                    message_id="<abc@mail.example.org>")
    result = ingest(context, raw, "http", {"remote_addr": "127.0.0.1"})
    assert not result.duplicate and result.message_id == "abc@mail.example.org"
    # committed: visible from a different engine
    other = Database(context.db.url)
    try:
        with other.session() as s:
            row = s.get(InboxMessage, result.inbox_id)
            assert row.raw == raw and row.size == len(raw) and row.state == "new"
            assert row.subject == "Réunion du club" and row.sender == "jerome@ville.fr"
            assert row.channel == "http" and row.meta == {"remote_addr": "127.0.0.1"}
    finally:
        other.dispose()


def test_the_same_mail_again_stores_nothing(context):
    raw = make_mail(message_id="<same@x.org>")
    first = ingest(context, raw, "lmtp")
    # through another channel: a trace header more, CRLF line ends, the id written loosely
    again = b"Received: from x by y\r\n" + raw.replace(b"<same@x.org>", b" <same@x.org> ").replace(b"\n", b"\r\n")
    second = ingest(context, again, "mbox")
    assert second.duplicate and second.inbox_id == first.inbox_id
    assert count(context) == 1


def test_another_mail_claiming_a_stored_message_id_is_kept_and_held(context):
    """The Message-ID is a claim: a second content under it is stored, never dropped unseen."""
    first = ingest(context, make_mail(message_id="<same@x.org>", body="Texte falsifié\n"), "lmtp")
    other = make_mail(message_id="<same@x.org>", body="Le vrai texte\n")
    second = ingest(context, other, "mbox")
    assert not second.duplicate and second.inbox_id != first.inbox_id
    assert second.message_id == "same@x.org"
    with context.db.session() as s:
        row = s.get(InboxMessage, second.inbox_id)
        assert row.raw == other and row.state == "dropped"
        assert row.reason.startswith(f"{COPY_HELD} {first.inbox_id} ")
        assert row.message_id.startswith(f"<copie {first.inbox_id}> ")  # no Message-ID can be that
        assert row.meta["message_id"] == "same@x.org" and row.meta["copy_of"] == first.inbox_id
        assert claimed_message_id(row.message_id, row.meta) == "same@x.org"
        assert s.get(InboxMessage, first.inbox_id).meta == {"copies": 1}
    # that copy again: a duplicate of the copy; a third content: one more copy
    assert ingest(context, other, "http").inbox_id == second.inbox_id
    assert not ingest(context, make_mail(message_id="<same@x.org>", body="Encore\n"), "http").duplicate
    assert count(context) == 3


def test_the_same_text_with_other_authentication_results_is_another_copy(context):
    """A forgery of a text, sent first and failing DMARC, must not stand for the real mail."""
    def mail(verdict):
        return make_mail(message_id="<copie@x.org>", body="Même texte\n",
                         extra_headers={"Authentication-Results": f"mx.example.org; dmarc={verdict} header.from=x.org"})
    first = ingest(context, mail("fail"), "lmtp")
    assert not ingest(context, mail("pass"), "lmtp").duplicate
    assert ingest(context, mail("fail"), "lmtp").inbox_id == first.inbox_id


def test_a_copy_of_a_message_that_ended_unpublished_is_queued_at_once(context):
    first = ingest(context, make_mail(message_id="<q@x.org>", body="A\n"), "lmtp")
    with context.db.session() as s:
        s.get(InboxMessage, first.inbox_id).state = "quarantined"
    second = ingest(context, make_mail(message_id="<q@x.org>", body="B\n"), "lmtp")
    with context.db.session() as s:
        assert s.get(InboxMessage, second.inbox_id).state == "new"


def test_without_message_id_a_stable_hash_dedupes(context):
    raw = b"From: a@b.fr\nSubject: sans identifiant\nDate: Mon, 2 Mar 2026 10:00:00 +0100\n\nTexte\n"
    first = ingest(context, raw, "stdin")
    assert first.message_id.startswith("sha256:")
    # the same mail through another channel: an extra Received header and CRLF line ends
    again = ingest(context, b"Received: from x by y\r\n" + raw.replace(b"\n", b"\r\n"), "lmtp")
    assert again.duplicate and count(context) == 1


def test_concurrent_duplicates_give_one_row(context):
    raw = make_mail(message_id="<race@x.org>")
    results, errors = [], []
    barrier = threading.Barrier(6)

    def send():
        ctx = Context(context.settings, db=context.db)
        barrier.wait()
        try:
            results.append(ingest(ctx, raw, "lmtp"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.duplicate for r in results) == [False] + [True] * 5
    assert len({r.inbox_id for r in results}) == 1 and count(context) == 1


@pytest.mark.parametrize("raw, code", [
    (b"", "empty"),
    (b"  \r\n\r\n", "empty"),
    (b"Bonjour, ceci n'est pas un courriel.\n", "not_mail"),
    (b"X-Foo: bar\n\nbody\n", "not_mail"),
    (b"From: a@b.fr\n" + b"X-H: v\n" * 1200 + b"\nbody\n", "headers"),
])
def test_refusals(context, raw, code):
    with pytest.raises(Refused) as info:
        ingest(context, raw, "http")
    assert info.value.code == code and info.value.message_fr
    assert count(context) == 0


def test_too_big_is_refused(tmp_path, db, make_settings_small):
    ctx = Context(make_settings_small, db=db)
    with pytest.raises(Refused) as info:
        ingest(ctx, make_mail(body="x" * 5000), "http")
    assert info.value.code == "too_big" and "trop volumineux" in info.value.message_fr
    assert count(ctx) == 0


@pytest.fixture
def make_settings_small(tmp_path, db_url):
    from tests.fixtures.database import make_settings

    return make_settings(tmp_path, db_url, MAX_MESSAGE_BYTES=4000)


def test_recipients_in_meta_are_checked(context):
    with pytest.raises(Refused) as info:
        ingest(context, make_mail(), "lmtp", {"recipients": ["quelquun@ailleurs.fr"]})
    assert info.value.code == "not_for_list"
    assert not ingest(context, make_mail(), "lmtp", {"recipients": ["CLUB@listes.example.org"]}).duplicate


def test_accepted_recipients(settings):
    ok = ["club@listes.example.org", "Bistro@forumsync.example.org", "bistro+t0k3n@forumsync.example.org",
          "sve@listes.example.org"]
    refused = ["bistro+@forumsync.example.org", "bistro+x@autre.example.org", "club@listes.example.org.evil",
               "root@localhost", "", "club"]
    assert all(accepted_recipient(settings, a) for a in ok)
    assert not any(accepted_recipient(settings, a) for a in refused)


def test_storing_wakes_the_in_process_worker(context):
    hook, registered = threading.Event(), threading.Event()
    context.wake_worker = hook.set
    register_wakeup(registered)
    try:
        queues.clear_wakeup()
        ingest(context, make_mail(message_id="<dup@x>"), "http")
        assert hook.is_set() and registered.is_set() and queues.wait_for_work(0)
        hook.clear()
        registered.clear()
        ingest(context, make_mail(message_id="<dup@x>"), "http")  # duplicate: nothing new to do
        assert not hook.is_set() and not registered.is_set()
    finally:
        unregister_wakeup(registered)


@pytest.mark.parametrize("subject, stored", [
    (b"[SVE] Accus\xc3\xa9 de r\xc3\xa9ception", "[SVE] Accusé de réception"),  # 8-bit UTF-8 (RFC 6532)
    (b"=?utf-8?q?R=C3=A9union?= du club", "Réunion du club"),
])
def test_the_inbox_row_shows_the_subject_as_the_pipeline_reads_it(context, subject, stored):
    """Operator walkthrough, 28th pass: the demo's own swaks mail (an 8-bit UTF-8 Subject) was
    listed as « Accus�� de r��ception » by inbox list/show and the dashboard."""
    raw = (b"From: Marie Dupont <marie@meyzieu.fr>\r\nTo: club@listes.example.org\r\nSubject: " + subject
           + b"\r\nMessage-ID: <raw8-" + str(len(subject)).encode() + b"@meyzieu.fr>\r\n\r\nBonjour\r\n")
    result = ingest(context, raw, "lmtp")
    with context.db.session() as s:
        row = s.get(InboxMessage, result.inbox_id)
        assert (row.subject, row.sender) == (stored, "marie@meyzieu.fr")
