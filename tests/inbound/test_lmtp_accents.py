"""SMTP/LMTP answers in French: with accents in an SMTPUTF8 transaction (RFC 6531 3.7.4.2),
folded to ASCII otherwise (RFC 5321 4.2: reply text is US-ASCII) — never garbled."""
import smtplib

import pytest

from forumsync.demo.maildir_sink import start_maildir_sink
from forumsync.inbound.lmtp import smtp_text
from tests.fixtures.database import free_port

MAIL = (b"From: Marie <marie@meyzieu.fr>\r\nTo: club@listes.example.org\r\n"
        b"Subject: essai\r\nMessage-ID: <accents-1@meyzieu.fr>\r\n\r\nBonjour\r\n")


def rcpt_reply(port, utf8: bool):
    client = smtplib.LMTP("127.0.0.1", port)
    try:
        client.ehlo()
        assert client.has_extn("smtputf8")
        client.mail("marie@meyzieu.fr", ["SMTPUTF8"] if utf8 else [])
        return client.rcpt("inconnu@ailleurs.example")
    finally:
        client.close()


def test_refusal_keeps_its_accents_with_smtputf8(lmtp_server):
    code, text = rcpt_reply(lmtp_server.port, utf8=True)
    assert code == 550
    assert "ne reçoit que le courrier de la liste" in text.decode("utf-8")


def test_refusal_is_plain_ascii_without_smtputf8(lmtp_server):
    code, text = rcpt_reply(lmtp_server.port, utf8=False)
    assert code == 550
    text.decode("ascii")  # RFC 5321: nothing but ASCII
    assert b"ne recoit que le courrier de la liste" in text


def test_stored_answer_in_each_mode(lmtp_server):
    for utf8, expected in ((True, "enregistré"), (False, "enregistre ")):
        client = smtplib.LMTP("127.0.0.1", lmtp_server.port)
        try:
            client.ehlo()
            client.mail("marie@meyzieu.fr", ["SMTPUTF8"] if utf8 else [])
            client.rcpt("club@listes.example.org")
            code, text = client.data(MAIL.replace(b"accents-1", b"accents-%d" % utf8))
        finally:
            client.close()
        assert code == 250 and expected in text.decode("utf-8"), text


def test_fold_keeps_words_readable():
    assert smtp_text("554 5.6.0 Structure MIME trop imbriquée « profonde »") == \
        '554 5.6.0 Structure MIME trop imbriquee "profonde"'
    assert smtp_text("554 5.6.0 Structure MIME trop imbriquée", utf8=True).endswith("imbriquée")


@pytest.mark.parametrize("utf8", [True, False])
def test_demo_sink_answers_in_both_modes(tmp_path, utf8):
    port = free_port()
    sink = start_maildir_sink(tmp_path / "maildir", "127.0.0.1", port)
    try:
        client = smtplib.SMTP("127.0.0.1", port)
        try:
            client.ehlo()
            client.mail("bistro@forumsync.example.org", ["SMTPUTF8"] if utf8 else [])
            client.rcpt("club@listes.example.org")
            code, text = client.data(MAIL)
        finally:
            client.close()
    finally:
        sink.stop()
    assert code == 250
    assert ("déposé" if utf8 else "depose") in text.decode("utf-8")
