"""Text from mail that a database cannot store (red team, tenth pass): encoded words in Python
codecs that are no mail charset, NUL in a Message-ID, an id longer than its column, a lone
surrogate in a drop reason. Each made every channel answer "try again later" for ever, or
a row fail every round, on SQLite, PostgreSQL or both. On both databases now (``pipe_any_db``),
each message is stored, and ends published or dropped with its reason."""
import pytest
from sqlalchemy import select

from forumsync.mail.charsets import codec_for, decode_bytes
from forumsync.mail.headers import decode_header_value
from forumsync.models import TopicLink
from forumsync.models.subscriber import Subscriber



def _clean(text: str) -> bool:
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


@pytest.mark.parametrize("label", ["idna", "punycode", "unicode_escape", "raw-unicode-escape",
                                   "undefined", "base64", "rot13", "hex"])
def test_python_codecs_that_are_no_mail_charset_are_not_used(label):
    assert codec_for(label) is None
    assert decode_bytes(b"caf\xc3\xa9 \\ud800 xn--", label) == "café \\ud800 xn--"  # utf-8 then


def test_a_decoder_that_returns_a_lone_surrogate_gives_a_replacement_character():
    assert codec_for("utf-7") == "utf-7"  # a real, if rare, mail charset
    assert decode_bytes(b"+2AA-", "utf-7") == "\ufffd"
    assert decode_header_value("=?utf-7?q?caf+AOk-+2AA-?=") == "café\ufffd"
    for value in ("=?idna?q?xn--?=", "=?punycode?q?=5C?=", "=?unicode_escape?q?=5Cud800?="):
        assert _clean(decode_header_value(value)), value


def _raw(headers: dict[str, bytes], body: bytes = b"Bonjour.\r\n") -> bytes:
    base = {"From": b"Marie <marie@meyzieu.fr>", "To": b"club@listes.example.org",
            "Subject": b"Question", "Date": b"Sun, 6 Dec 2026 10:00:00 +0000",
            "Message-ID": b"<ok@meyzieu.fr>", "Content-Type": b"text/plain; charset=utf-8"}
    base.update(headers)
    return b"".join(name.encode() + b": " + value + b"\r\n" for name, value in base.items()) + b"\r\n" + body


LONG_ID = b"x" * 1100 + b"@evil.example"
HOSTILE = {
    "utf-7 subject": {"Subject": b"=?utf-7?q?+2AA-?=", "Message-ID": b"<u7@a.fr>"},
    "idna subject": {"Subject": b"=?idna?q?xn--?=", "Message-ID": b"<idna@a.fr>"},
    "punycode subject": {"Subject": b"=?punycode?q?=5C?=", "Message-ID": b"<puny@a.fr>"},
    "unicode_escape subject": {"Subject": b"=?unicode_escape?q?=5Cud800?=", "Message-ID": b"<ue@a.fr>"},
    "idna sender name": {"From": b"=?idna?q?xn--?= <paul@a.fr>", "Message-ID": b"<from@a.fr>"},
    "NUL in the Message-ID": {"Message-ID": b"<nul\x00id@evil.example>"},
    "an id over the column": {"Message-ID": b"<" + LONG_ID + b">"},
    "a reference over the column": {"Message-ID": b"<ref@a.fr>", "Subject": b"Re: ailleurs",
                                    "References": b"<y" + LONG_ID + b">"},
    "utf-7 body": {"Message-ID": b"<body@a.fr>", "Content-Type": b"text/plain; charset=utf-7"},
}


def test_hostile_text_is_stored_and_published_on_both_databases(pipe_any_db):
    pipe = pipe_any_db
    ids = {name: pipe.feed(_raw(headers, b"caf+AOk- +2AA- \\ud800\r\n")) for name, headers in HOSTILE.items()}
    pipe.run()
    for name, inbox_id in ids.items():
        row = pipe.row(inbox_id)
        assert row.state == "published", (name, row.state, row.reason)
        assert _clean(row.subject) and _clean(row.message_id) and _clean(row.reason), name
    # a later reply naming the same long reference joins that topic
    reply = pipe.send(_raw({"Message-ID": b"<ref2@a.fr>", "Subject": b"Re: ailleurs",
                            "References": b"<y" + LONG_ID + b">"}))
    assert reply.state == "published" and reply.topic_id == pipe.row(ids["a reference over the column"]).topic_id
    with pipe.ctx.db.session() as session:
        roots = session.scalars(select(TopicLink.root_message_id)).all()
    assert all(len(root) <= 998 for root in roots)


def test_a_drop_reason_from_hostile_text_is_recorded(pipe_any_db):
    """An auto-reply marked in utf-7 with a lone surrogate: its drop reason quotes the header
    (red team: the reason could not be written, the whole claim failed three times and the
    row ended quarantined as if it had killed the worker)."""
    pipe = pipe_any_db
    row = pipe.send(_raw({"Auto-Submitted": b"=?utf-7?q?auto-replied+2AA-?=", "Message-ID": b"<ar@a.fr>"}))
    assert row.state == "dropped" and row.interrupted == 0 and _clean(row.reason), (row.state, row.reason)


def test_a_roster_with_a_long_name_and_a_long_address_still_syncs(db):
    """Every subscriber chooses their display name (red team: 301 characters stopped every
    roster sync on PostgreSQL, the other newcomers never recorded nor welcomed)."""
    from forumsync.community.rosters import MAX_NAME_CHARS, storable_roster
    from forumsync.community.subscribers import apply_roster

    roster = {"marie@meyzieu.fr": "Marie", "long@meyzieu.fr": "Nom " * 200 + "\x00",
              "x" * 300 + "@meyzieu.fr": "Trop long"}
    for _ in range(2):
        with db.session() as session:
            diff = apply_roster(session, "csv:abonnes.csv", storable_roster(roster))
    assert diff.added == [] and diff.renamed == []  # the second run sees nothing new
    with db.session() as session:
        stored = {s.email: s.name for s in session.scalars(select(Subscriber))}
    assert set(stored) == {"marie@meyzieu.fr", "long@meyzieu.fr"}
    assert len(stored["long@meyzieu.fr"]) == MAX_NAME_CHARS and _clean(stored["long@meyzieu.fr"])
