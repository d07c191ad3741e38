"""mbox reading (streaming, mboxrd/mboxo) and resumable, idempotent storage."""
import gzip
import io
import tracemalloc

import pytest
from sqlalchemy import func, select

from forumsync.inbound.mbox import cursor_key, envelope_date, import_file, iter_mbox, open_mbox
from forumsync.models import InboxMessage, get_state
from tests.conftest import real_data
from tests.fixtures.pipeline import make_mail


ESCAPED = (b"From alice@x.org Mon Mar  2 10:00:00 2026\nFrom: alice@x.org\nSubject: un\n\n"
           b">From the start\n>>From quoted\nfin\n\n"
           b"From bob@x.org Tue Mar  3 11:00:00 2026\nFrom: bob@x.org\nSubject: deux\n\ncorps\n\n")


def test_mboxrd_strips_one_quote_level():
    first, second = iter_mbox(io.BytesIO(ESCAPED), fmt="mboxrd")
    assert first.raw.endswith(b"\n\nFrom the start\n>From quoted\nfin\n")
    assert second.raw == b"From: bob@x.org\nSubject: deux\n\ncorps\n"
    assert first.from_line == "alice@x.org Mon Mar  2 10:00:00 2026"
    assert (first.offset, first.end, second.offset, second.end) == (0, second.offset, first.end, len(ESCAPED))


def test_mbox_format_only_unquotes_single_level():
    first, _ = iter_mbox(io.BytesIO(ESCAPED), fmt="mbox")
    assert b"\nFrom the start\n>>From quoted\n" in first.raw


def test_reading_from_an_offset_and_oversized_messages():
    first, second = iter_mbox(io.BytesIO(ESCAPED))
    [again] = iter_mbox(io.BytesIO(ESCAPED), start=second.offset)
    assert again.raw == second.raw and again.offset == second.offset
    big, small = iter_mbox(io.BytesIO(ESCAPED), max_bytes=40)
    assert big.raw is None and big.size > 40 and small.raw is not None


def test_envelope_date():
    assert envelope_date("alice@x.org Mon Mar  2 10:00:00 2026") == "2026-03-02T10:00:00+00:00"
    assert envelope_date("MAILER-DAEMON") is None


@pytest.mark.slow  # the whole 75 MB corpus
def test_streaming_keeps_memory_bounded():
    """The 75 MB corpus goes through with a few MB traced: nothing accumulates."""
    tracemalloc.start()
    try:
        count = 0
        with open_mbox(real_data("corpus", "usrp-users-dev2k.mbox.gz")) as stream:
            for message in iter_mbox(stream, max_bytes=25 * 1024 * 1024):
                count += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 1992
    assert peak < 12 * 1024 * 1024, peak


def write_mbox(path, messages, gz=False):
    data = b"".join(b"From list@x.org Mon Mar  2 10:00:00 2026\n" + m.replace(b"\nFrom ", b"\n>From ") + b"\n"
                    for m in messages)
    (gzip.open if gz else open)(path, "wb").write(data)
    return path


def count(ctx):
    with ctx.db.session() as s:
        return s.scalar(select(func.count(InboxMessage.id)))


def test_import_resumes_and_is_idempotent(context, tmp_path):
    mails = [make_mail(message_id=f"<h{n}@x.org>", subject=f"Sujet {n}") for n in range(25)]
    path = write_mbox(tmp_path / "archive.mbox.gz", mails, gz=True)
    first = import_file(context, path, batch=4, limit=10)
    assert (first.read, first.stored, first.complete) == (10, 10, False) and count(context) == 10
    with context.db.session() as s:
        cursor = get_state(s, cursor_key(path))
    assert cursor["count"] == 10
    second = import_file(context, path, batch=4)
    assert (second.read, second.stored, second.duplicates, second.already) == (15, 15, 0, 10)
    assert second.complete and count(context) == 25
    third = import_file(context, path, batch=4)
    assert (third.read, third.already) == (0, 25) and count(context) == 25
    with context.db.session() as s:
        row = s.scalar(select(InboxMessage).where(InboxMessage.message_id == "h3@x.org"))
        assert row.channel == "mbox" and row.meta["envelope_date"] == "2026-03-02T10:00:00+00:00"
        assert row.received_at.isoformat() == "2026-03-02T10:00:00+00:00"  # the Date fallback
        assert row.meta["mbox"] == str(path) and row.raw == mails[3]


def test_cursor_is_committed_per_batch_even_if_interrupted(context, tmp_path):
    path = write_mbox(tmp_path / "a.mbox", [make_mail(message_id=f"<b{n}@x>") for n in range(9)])

    class Boom(Exception):
        pass

    def explode(report):
        if report.read >= 6:
            raise Boom

    try:
        import_file(context, path, batch=3, after_batch=explode)
    except Boom:
        pass
    with context.db.session() as s:
        assert get_state(s, cursor_key(path))["count"] == 6
    resumed = import_file(context, path, batch=3)
    assert (resumed.already, resumed.read, resumed.duplicates) == (6, 3, 0)


def test_a_rewritten_file_is_read_again_without_duplicates(context, tmp_path):
    path = tmp_path / "a.mbox"
    write_mbox(path, [make_mail(message_id=f"<r{n}@x>") for n in range(5)])
    import_file(context, path)
    # same first message, different rest: the cursor no longer matches, reading restarts safely
    write_mbox(path, [make_mail(message_id=f"<r{n}@x>") for n in range(2)]
               + [make_mail(message_id="<new@x>", subject="un sujet bien plus long que les autres")])
    again = import_file(context, path)
    assert again.stored == 1 and again.duplicates == 2 and count(context) == 6


def test_an_unescaped_from_line_inside_a_paragraph_is_not_a_separator():
    """Intake review (34th pass): an mboxo archive with « From the start we said so. » right
    after a line of text was cut there, the tail refused as « pas un courriel ». RFC 4155 ends
    each message with an empty line; after a line of text, only an envelope line (« From
    sender date ») separates. Two messages written without the empty line still split."""
    import io

    from forumsync.inbound.mbox import iter_mbox

    mbox = (b"From alice@x.org Mon Mar  2 10:00:00 2026\n"
            b"From: alice@x.org\nMessage-ID: <a@x.org>\nSubject: un\n\n"
            b"Voici ma proposition.\nFrom the start we said so.\nSigne Alice\n\n"
            b"From bob at x.org  Tue Mar  3 11:00:00 2026\n"
            b"From: bob@x.org\nMessage-ID: <b@x.org>\nSubject: deux\n\ncorps\n"
            b"From carol@x.org Wed Mar  4 12:00:00 2026\n"
            b"From: carol@x.org\nMessage-ID: <c@x.org>\nSubject: trois\n\ncorps\n\n")
    messages = list(iter_mbox(io.BytesIO(mbox), fmt="mbox"))
    assert len(messages) == 3, [m.raw for m in messages]
    assert [b"<%s@x.org>" % who in m.raw for who, m in zip((b"a", b"b", b"c"), messages)] == [True] * 3
    assert messages[0].raw.endswith(b"From the start we said so.\nSigne Alice\n")


@pytest.mark.parametrize("envelope", [
    b"From bob@x.org 2026-03-03T11:00:00Z",
    b"From bob@x.org Tue, 03 Mar 2026 11:00:00 +0000",
    b"From bob@x.org Mar  3 11:00:00 2026",
    b"From bob@x.org",
    b"From MAILER-DAEMON",
    b"From - Mon Jan  1 10:00:00 2024",
])
@pytest.mark.parametrize("nl", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_an_envelope_line_after_a_line_of_text_still_separates(envelope, nl):
    """Red team, 35th pass: the 34th pass's rule merged the next message into the last one
    when its envelope line, right after a line of text, had no asctime date."""
    mbox = _after_a_line_of_text(envelope, b"From: bob@x.org\nMessage-ID: <b@x.org>\nSubject: deux\n\ncorps\n", nl)
    assert len(list(iter_mbox(io.BytesIO(mbox)))) == 2


@pytest.mark.parametrize("line", [
    b"From marie@meyzieu.fr we got the answer yesterday.",
    b"From marie@meyzieu.fr: thanks, it works.",
    b"From <marie@meyzieu.fr> to the whole list.",
    b"From - to + the values change.",
])
@pytest.mark.parametrize("nl", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_a_line_of_prose_beginning_with_an_address_does_not_split(line, nl):
    """Red team, 36th pass: the 35th pass's sender rule (« From » then an address splits even
    after a line of text) cut a message at a line of prose that begins with an address, its
    tail refused as no mail, never stored. After the sender, an envelope line has a date (a
    digit, a day or month name) or nothing."""
    messages = list(iter_mbox(io.BytesIO(_after_a_line_of_text(line, b"FIN IMPORTANTE\n\n", nl))))
    assert len(messages) == 1, [m.raw for m in messages]
    assert messages[0].raw.rstrip().endswith(b"FIN IMPORTANTE")


def _after_a_line_of_text(line: bytes, rest: bytes, nl: bytes) -> bytes:
    """An mbox whose first message's body is a line of text, then LINE, then REST's lines."""
    return (b"From alice@x.org Mon Mar  2 10:00:00 2026" + nl + b"From: alice@x.org" + nl
            + b"Message-ID: <a@x.org>" + nl + b"Subject: un" + nl + nl + b"corps" + nl
            + line + nl + rest.replace(b"\n", nl))


def test_resuming_at_a_from_line_inside_a_paragraph_reads_the_whole_message_again(pipe, tmp_path):
    """Red team, 35th pass: an archive cut at « From the start… » inside a paragraph, then
    completed: the resumed import took that line for a message's start, as the splitter no
    longer does, and the message's end was refused as no mail."""
    from forumsync.models.inbox_raw import InboxRaw

    env = b"From someone@example.org Mon Mar  2 09:30:00 2026\n"
    a = make_mail("Premier", "Premier message.\n" * 100, message_id="<a@x.fr>")
    b = make_mail("Second", "Voici ma proposition.\nFrom the start we said so.\nFIN IMPORTANTE\n",
                  message_id="<b@x.fr>")
    archive = tmp_path / "liste.mbox"
    archive.write_bytes(env + a + b"\n" + env + b[: b.index(b"From the start")])  # cut there
    assert import_file(pipe.ctx, archive).stored == 2
    archive.write_bytes(env + a + b"\n" + env + b + b"\n")  # completed later
    second = import_file(pipe.ctx, archive)
    with pipe.ctx.db.session() as session:
        texts = b"\n".join(bytes(r) for r in session.scalars(select(InboxRaw.raw)).all())
    assert not second.refused, second.refused
    assert b"FIN IMPORTANTE" in texts
