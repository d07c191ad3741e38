"""header_str / decode_header_value: decoded text, never an exception."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forumsync.mail import decode_header_value, header_all, header_str, parse_bytes


@pytest.mark.parametrize("raw, expected", [
    ("=?iso-8859-1?Q?R=E9ponse_automatique?=", "Réponse automatique"),
    ("=?UTF-8?B?UsOpdW5pb24gZHUgY2x1Yg==?=", "Réunion du club"),
    # adjacent encoded words: the whitespace between them is not shown
    ("=?utf-8?Q?Probl=C3=A8?= =?utf-8?Q?me?=", "Problème"),
    # labels Python does not know or that lie
    ("=?utf8?Q?caf=C3=A9?=", "café"),
    ("=?x-unknown?Q?caf=E9?=", "café"),
    ("=?windows-1252?Q?=80_et_=9C?=", "€ et œ"),
    ("=?iso-8859-1?Q?caf=C3=A9?=", "café"),  # utf-8 mislabelled latin-1
    # folded header
    ("Question sur\r\n la saisine", "Question sur la saisine"),
    # missing padding in base64
    ("=?utf-8?B?w6k?=", "é"),
    # a character split between two words (mailers that cut at a byte count): the bytes of
    # neighbouring words in one charset are decoded together (red team, twenty-third pass)
    ("=?UTF-8?Q?R=C3=A9union_de_pr=C3?= =?UTF-8?Q?=A9sentation_du_module?=", "Réunion de présentation du module"),
    ("=?UTF-8?B?UsOpdW5pb24gZMM=?= =?utf-8?Q?=A9marches?=", "Réunion démarches"),
    # neighbours in two charsets stay apart; a word that does not decode is shown as written
    ("=?iso-8859-1?Q?caf=E9?= =?utf-8?Q?_th=C3=A9?=", "café thé"),
    ("=?utf-8?Q?=C3?= et =?utf-8?Q?=A9?=", "Ã et ©"),  # apart: each read as the fallbacks read it
    ("", ""),
])
def test_decode_header_value(raw, expected):
    assert decode_header_value(raw) == expected


def test_header_str_decodes_raw_8bit_headers():
    msg = parse_bytes("Subject: Document numérisé\nFrom: Gisèle <g@x.fr>\n\n".encode("latin-1"))
    assert header_str(msg, "Subject") == "Document numérisé"
    assert header_str(msg, "subject") == "Document numérisé"
    msg = parse_bytes("Subject: Caf\u00e9 cr\u00e8me\n\n".encode("utf-8"))
    assert header_str(msg, "Subject") == "Café crème"


def test_header_str_default_and_all():
    msg = parse_bytes(b"Received: a\nReceived: b\n\nbody")
    assert header_str(msg, "Subject") == ""
    assert header_str(msg, "Subject", "x") == "x"
    assert header_all(msg, "Received") == ["a", "b"]


def test_header_str_on_headers_the_policy_chokes_on():
    raw = (b"From: \"unterminated <a@b.c>\nTo: ;;;,,,<<>>@\nMessage-ID: <<>>\n"
           b"Content-Type: text/plain; charset=\"\n\nbody")
    msg = parse_bytes(raw)
    for name in ("From", "To", "Message-ID", "Content-Type"):
        assert isinstance(header_str(msg, name), str)


def test_testdata_subjects(eml):
    # Outlook's non-breaking space before the colon is normalised to a space.
    assert header_str(eml("outlook-fr-reply.eml"), "Subject") == (
        "RE : [club-publik] Question sur la saisine par voie électronique")
    assert header_str(eml("cp1252-labelled-latin1.eml"), "Subject") == (
        "[club-publik] Coût du module – € par an")


@given(st.binary(max_size=200))
def test_any_header_bytes_decode_without_error(value):
    msg = parse_bytes(b"Subject: " + value.replace(b"\n", b" ").replace(b"\r", b" ") + b"\nFrom: x\n\nbody")
    assert isinstance(header_str(msg, "Subject"), str)
    assert isinstance(decode_header_value(value), str)


def test_decoding_a_long_hostile_value_is_linear():
    """Twenty-sixth pass: « =? » then a long run of « * » cost 48 s at 64 KB (the charset and its
    « *lang » part both took « * »), at intake, under no processor budget."""
    import time

    for value in ("=?" + "*" * 64_000 + "?Q?", "=?" + "a*" * 32_000, "=?utf-8?Q?" + "a" * 64_000):
        started = time.process_time()
        decode_header_value(value)
        assert time.process_time() - started < 0.5, value[:20]



def test_long_references_keep_the_parent():
    """Twenty-seventh pass: a 16 KB cap on decoded values (26th pass, withdrawn) cut a long
    References, whose parent comes last: a reply threaded 27 messages up."""
    from email import message_from_bytes, policy

    from forumsync.pipeline.parse import references

    ids = [f"<{n:04d}.ancien-message-de-la-discussion@listes.exemple.org>" for n in range(300)]
    raw = ("From: a@b.fr\r\nSubject: Re: fil\r\nMessage-ID: <r@b.fr>\r\nReferences: "
           + "\r\n ".join(ids) + "\r\n\r\ncorps\r\n").encode()
    assert references(message_from_bytes(raw, policy=policy.compat32), "r@b.fr")[0] == ids[-1].strip("<>")
