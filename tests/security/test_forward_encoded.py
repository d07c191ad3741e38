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
import quopri

from forumsync.mail import body as body_mod, parse_bytes
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
    return extract_body(parse_bytes(raw))  # the pipeline's parse (mail.POLICY)


def test_a_base64_forwarded_message_is_shown_decoded():
    body = _body(_forward(base64.encodebytes(INNER), "base64"))
    assert "Le conseil se réunira jeudi à 18 h en salle 2." in body.markdown, body.markdown
    assert "Ordre du jour du conseil" in body.markdown, body.markdown
    assert "RnJvbTog" not in body.markdown  # no base64 shown in place of the text


def test_a_quoted_printable_forwarded_message_is_shown_decoded():
    qp = INNER.replace(b"=", b"=3D").replace(b"\xc3\xa9", b"=C3=A9").replace(b"\xc3\xa0", b"=C3=A0")
    body = _body(_forward(qp, "quoted-printable"))
    assert "Le conseil se réunira jeudi à 18 h en salle 2." in body.markdown, body.markdown


def test_an_encoded_forward_with_nothing_in_it_is_kept_whole_as_a_file():
    body = _body(_forward(b"!!!!", "base64"))  # no base64 character: nothing once decoded
    files = [a for a in body.attachments if a.filename == "message-transfere.eml"]
    assert files and files[0].data.strip() == b"!!!!", body.attachments
    assert "Je vous transfère ceci." in body.markdown


# Twentieth pass: a quoted-printable forwarded message with a soft line break inside its header
# block is mangled by the nineteenth pass's decoding.
# 
# ``body._decoded_forward`` decodes ``_generated(inner)``: the message the ``email`` package
# parsed from the *encoded* text, generated again. A QP encoder breaks every line longer than
# 76 characters with a soft break (``=`` at the line's end, RFC 2045 6.7) — a header line of
# 77+ characters included (``quopri``, Exchange). Parsed encoded, the continuation of that line
# is not a header: the parser ends the header block there, and the generator then writes a
# *blank line* between the headers and the « body ». Decoded, the soft break joins nothing but
# that blank line: the header line is cut in two, the forwarded message's header block ends in
# the middle of a header, and the rest of its headers (Content-Type…) is shown as its text —
# a multipart forward shows its MIME boundaries and base64 in the post, its text and files lost.
# The encoded text should be decoded as it came (the part's raw payload), not regenerated.
SUBJECT = "Ordre du jour du conseil municipal de la commune de Meyzieu, séance du 12"  # 77+ bytes line
INNER = ("From: Claire Martin <claire.martin@mairie.fr>\r\n"
         f"Subject: {SUBJECT}\r\n"
         "MIME-Version: 1.0\r\n"
         'Content-Type: multipart/mixed; boundary="inner"\r\n\r\n'
         "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
         "Le conseil se réunira jeudi à 18 h en salle 2.\r\n"
         "--inner\r\nContent-Type: application/pdf; name=odj.pdf\r\n"
         "Content-Disposition: attachment; filename=odj.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\n"
         "--inner--\r\n").encode()


def _qp_forward(encoded: bytes) -> bytes:
    return (b"From: Marie Dupont <marie.dupont@meyzieu.fr>\r\nTo: club@listes.example.org\r\n"
            b"Subject: TR: Ordre du jour\r\nMessage-ID: <rt20-fwd-qp@meyzieu.fr>\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nJe vous transf\xc3\xa8re ceci.\r\n--b\r\n"
            b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + encoded + b"\r\n--b--\r\n")


def test_a_qp_forward_with_a_long_header_line_is_shown_whole():
    encoded = quopri.encodestring(INNER.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    assert b"=\r\n" in encoded.split(b"\r\n\r\n")[0]  # the Subject line got a soft break
    body = _body(_qp_forward(encoded))
    md = body.markdown
    assert "Le conseil se réunira jeudi à 18 h en salle 2." in md, md
    assert "--inner" not in md and "JVBERi0" not in md, f"MIME structure shown as text:\n{md}"
    assert any(a.filename == "odj.pdf" for a in body.attachments), [a.filename for a in body.attachments]


def test_the_full_text_of_forwards_too_deep_holds_their_encoded_levels_too():
    """Red team, twenty-first pass: below the depth rendered, the full text (message-complet.txt)
    skipped a forwarded message sent base64 (a leaf for the parser)."""
    inner = INNER
    for level in range(12):  # deeper than MAX_FORWARD_DEPTH, each level base64-encoded
        inner = (f"From: niveau{level}@mairie.fr\r\nSubject: TR: niveau {level}\r\nMIME-Version: 1.0\r\n"
                 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                 "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() \
            + base64.encodebytes(inner) + b"\r\n--b--\r\n"
    body = _body(inner)
    assert body.full_text is not None
    assert "Le conseil se réunira jeudi à 18 h en salle 2." in body.full_text


# Twenty-second pass: ``body._texts_below`` (twenty-first pass) decodes up to 64 encoded forwards
# below the rendering depth, but nothing bounds what they weigh. A quoted-printable forward of a
# text with short lines and no « = » is its own encoding, so each of a chain of levels is as
# big as the whole mail: 64 decodings and parses of (nearly) the whole mail. A 20 MB mail of 80
# such levels costs 19 s of processor time (2.6 s with 9 levels: the rendering depth alone), most
# of PIPELINE_MESSAGE_CPU_SECONDS (30 s); a slower host quarantines it, and each such mail holds
# the worker that long.
# 
# Expected: what the full text decodes is bounded by the mail's size (a small multiple), not by
# 64 times it.
LINE = b"bla bla bla bla bla bla bla bla bla bla bla bla bla bla bla\r\n"


def _chain(size: int, levels: int) -> bytes:
    inner = b"From: a <a@b.fr>\r\nSubject: s\r\nContent-Type: text/plain\r\n\r\n" + LINE * (size // len(LINE))
    for _ in range(levels):
        inner = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + inner
    return (b"From: Marie <marie@meyzieu.fr>\r\nTo: club@listes.example.org\r\nSubject: TR\r\n"
            b"Message-ID: <rt22-chain@meyzieu.fr>\r\nMIME-Version: 1.0\r\n" + inner)


def test_the_full_text_of_deep_encoded_forwards_decodes_a_bounded_amount(monkeypatch):
    raw = _chain(200_000, 80)
    decoded = []
    real = body_mod._decoded_forward

    def counting(part):
        inner = real(part)
        decoded.append(len(body_mod.part_bytes(part)))
        return inner

    monkeypatch.setattr(body_mod, "_decoded_forward", counting)
    extract_body(parse_bytes(raw))
    assert sum(decoded) <= 16 * len(raw), \
        f"{len(decoded)} encoded forwards decoded, {sum(decoded):,} bytes for a mail of {len(raw):,}"
