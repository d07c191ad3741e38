"""Red team, nineteenth pass: a forwarded message (message/rfc822) sent with a Content-Transfer-Encoding.

RFC 2046 allows only 7bit/8bit/binary there, but some clients and relays (8BITMIME
downgrades, Exchange) send the forwarded message base64 or quoted-printable encoded. The
``email`` package then parses the *encoded* text as the inner message; ``body.forwarded``
renders it as is: the post shows lines of base64 where the forwarded text was, no « De : »,
no « Objet : », the text unreadable, and nothing says so (no attachment, no note).
Expected: the inner message is decoded and rendered like any forward (or, at worst, kept
whole as an attachment), its text readable on the forum.
"""
from __future__ import annotations

import base64
import email
import email.policy

from forumsync.mail.body import extract_body

INNER = (b"From: Claire Martin <claire.martin@mairie.fr>\r\nSubject: Ordre du jour du conseil\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
         b"Le conseil se r\xc3\xa9unira jeudi \xc3\xa0 18 h en salle 2.\r\n")


def _forward(encoded: bytes, cte: str) -> bytes:
    return (b"From: Marie Dupont <marie.dupont@meyzieu.fr>\r\nTo: club@listes.example.org\r\n"
            b"Subject: TR: Ordre du jour\r\nMessage-ID: <rt19a-fwd@meyzieu.fr>\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nJe vous transf\xc3\xa8re ceci.\r\n--b\r\n"
            b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n"
            + encoded + b"\r\n--b--\r\n")


def _body(raw: bytes):
    return extract_body(email.message_from_bytes(raw, policy=email.policy.default))


def test_a_base64_forwarded_message_is_shown_decoded():
    body = _body(_forward(base64.encodebytes(INNER), "base64"))
    assert "Le conseil se réunira jeudi à 18 h en salle 2." in body.markdown, body.markdown
    assert "Ordre du jour du conseil" in body.markdown, body.markdown
    assert "RnJvbTog" not in body.markdown  # no base64 shown in place of the text


def test_a_quoted_printable_forwarded_message_is_shown_decoded():
    qp = INNER.replace(b"=", b"=3D").replace(b"\xc3\xa9", b"=C3=A9").replace(b"\xc3\xa0", b"=C3=A0")
    body = _body(_forward(qp, "quoted-printable"))
    assert "Le conseil se réunira jeudi à 18 h en salle 2." in body.markdown, body.markdown


def test_an_undecodable_encoded_forward_is_kept_whole_as_a_file():
    body = _body(_forward(b"RnJvbTog=Q", "base64"))  # bad padding: binascii refuses it
    files = [a for a in body.attachments if a.filename == "message-transfere.eml"]
    assert files and files[0].data.strip() == b"RnJvbTog=Q", body.attachments
    assert "Je vous transfère ceci." in body.markdown
