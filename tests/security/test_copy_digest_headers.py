"""Red team, nineteenth pass: two mails that read differently must not be « the same mail ».

``ids.content_digest`` (what ``copies.place`` compares to call a second mail under a
Message-ID a duplicate) keeps only From, To, Cc, Date, Subject, In-Reply-To, References, the
body bytes and the Authentication-Results. Content-Type, Content-Transfer-Encoding,
Reply-To, X-Original-From, Sender… are left out, although they change what is published
(how the body is decoded, whether it is text at all) and, for a mail the list rewrote, who
the author claims to be.

So whoever has a mail before the bridge does (a direct Cc while the list moderates it) sends
it first with the same Message-ID, headers and body but another Content-Type: the bridge
stores the forgery, and the real mail is answered « déjà reçu » (LMTP 250, HTTP 202) and
**never stored** — not even as a held copy for the operator, as « Deux courriels, un
Message-ID » promises (« le premier est publié, l'autre est gardé avec sa raison »).
Without AUTHSERV_ID (no Authentication-Results) nothing else tells them apart.
"""
from __future__ import annotations

import email

import pytest
from sqlalchemy import select

from forumsync.inbound.ingest import ingest
from forumsync.mail import POLICY, ids
from forumsync.models import InboxMessage
from tests.fixtures.pipeline import make_mail

REAL = make_mail("Assemblée générale", "Rendez-vous samedi à 10 h, salle B.\n",
                 message_id="<ag-2027@meyzieu.fr>")


@pytest.mark.parametrize("old, new", [
    (b"Content-Type: text/plain; charset=\"utf-8\"",
     b"Content-Type: application/octet-stream; name=\"ag.bin\""),   # published as a file, no text
    (b"Content-Type: text/plain; charset=\"utf-8\"",
     b"Content-Type: multipart/mixed; boundary=\"nowhere\""),       # the text becomes a preamble
    (b"Content-Transfer-Encoding: 8bit",
     b"Content-Transfer-Encoding: base64"),                          # decoded as garbage
], ids=["octet-stream", "multipart-preamble", "base64"])
def test_a_mail_with_other_mime_headers_sent_first_does_not_swallow_the_real_one(context, old, new):
    assert old in REAL
    forged = REAL.replace(old, new)
    ingest(context, forged, "lmtp")
    second = ingest(context, REAL, "lmtp")
    assert not second.duplicate, "the real mail was answered « déjà reçu » and not stored"
    with context.db.session() as s:
        raws = [row.raw for row in s.scalars(select(InboxMessage).order_by(InboxMessage.id))]
    assert REAL in raws


@pytest.mark.parametrize("extra", [b"Auto-Submitted: auto-replied", b"Reply-To: pirate@evil.example",
                                   b"X-Original-From: pirate@evil.example", b"From: pirate@evil.example"],
                         ids=["auto-submitted", "reply-to", "x-original-from", "second-from"])
def test_a_header_the_pipeline_decides_on_makes_another_mail(context, extra):
    forged = REAL.replace(b"Subject:", extra + b"\nSubject:", 1)
    ingest(context, forged, "lmtp")
    assert not ingest(context, REAL, "lmtp").duplicate


def test_the_same_mail_refolded_is_still_one_mail(context):
    refolded = REAL.replace(b"Content-Type: text/plain;", b"Content-Type: text/plain;\n\t", 1)
    assert refolded != REAL
    ingest(context, REAL, "lmtp")
    assert ingest(context, refolded, "lmtp").duplicate


# Twentieth pass: two mails the pipeline reads differently must not have one content digest.
# 
# ``ids._normalised_digest`` (nineteenth pass) feeds sha256 with ``name:value\\n`` for each
# stable header, sorted, and then the body's bytes **with no separator**. A stable header that
# sorts last and the same text at the start of the body are the same bytes to the hash:
# 
#     headers From/Subject/To + « X-Vacation: yes », body « Bonjour »
#     headers From/Subject/To, body « x-vacation:yes\\nBonjour »
# 
# Likewise the header walk goes on past a line that is not a header, where the ``email``
# package (and so the pipeline) ends the header block: a ``Content-Type`` after such a line
# counts in the digest but not in the message the pipeline reads.
# 
# Two mails under one Message-ID with one digest are « the same mail » (``copies.place``: the
# second is a duplicate, never stored), and two mails without a Message-ID get one
# ``stable_hash_id`` (the second never stored): a mail the pipeline drops as an automatic reply
# (or reads as HTML) stands for one it would publish.
HEAD = (b"From: Marie Dupont <marie.dupont@meyzieu.fr>\r\nTo: club@listes.example.org\r\n"
        b"Subject: AG\r\nMessage-ID: <rt20-digest@meyzieu.fr>\r\n")


def test_a_header_and_the_same_text_at_the_body_start_are_two_mails():
    vacation = HEAD + b"X-Vacation: yes\r\n\r\nBonjour, je serai l\xc3\xa0.\r\n"
    plain = HEAD + b"\r\nx-vacation:yes\r\nBonjour, je serai l\xc3\xa0.\r\n"
    assert ids.content_digest(vacation) != ids.content_digest(plain)
    assert ids.stable_hash_id(vacation) != ids.stable_hash_id(plain)


def test_headers_after_a_line_that_ends_the_header_block_do_not_count():
    html = HEAD + b"Content-Type: text/html\r\n\r\n<p>Bonjour</p>\r\n"
    broken = HEAD + b"not a header line\r\nContent-Type: text/html\r\n\r\n<p>Bonjour</p>\r\n"
    # the email package reads BROKEN's header block as ending at « not a header line »: its
    # Content-Type is body text, the message is text/plain — another mail than HTML
    assert email.message_from_bytes(broken).get_content_type() == "text/plain"
    assert ids.content_digest(html) != ids.content_digest(broken)


# Twenty-first pass: ``ids._read_head`` (7a55547) reads the header block like email.feedparser's
# headerRE, but not like ``_parse_headers``: a ``From `` line that is the *last* line of the
# header block is pushed back by the parser as the first line of the body (Lib/email/
# feedparser.py, "Something looking like a unix-from at the end"), while ``_read_head`` counts it
# as a header line and leaves it out of the digest.
# 
# So a mail with an extra ``From <anything>`` line before the blank line has the same
# ``content_digest`` as the genuine one, yet the pipeline publishes that line as the body's first
# line. Sent first with the genuine Message-ID (same stable headers, same Authentication-Results,
# e.g. through a channel that adds none), it is published and the genuine mail, arriving second,
# is taken for the same mail (« duplicate, nothing stored ») and vanishes.
GENUINE = (b"From: Alice <alice@example.org>\nTo: list@example.org\nSubject: Hi\n"
           b"Message-ID: <m1@example.org>\nDate: Mon, 7 Dec 2026 08:00:00 +0000\n\nhello\n")
FORGED = GENUINE.replace(b"+0000\n\n", b"+0000\nFrom https://evil.example/pay virement urgent\n\n")


def test_a_from_line_the_parser_puts_in_the_body_changes_the_digest():
    parsed = email.message_from_bytes(FORGED, policy=POLICY)
    assert "evil.example" in parsed.get_content()  # what the pipeline would publish
    assert "evil.example" not in email.message_from_bytes(GENUINE, policy=POLICY).get_content()
    assert ids.content_digest(FORGED) != ids.content_digest(GENUINE), \
        "two mails with different published bodies share one content digest"


def test_crlf_variant_too():
    forged = FORGED.replace(b"\n", b"\r\n")
    assert ids.content_digest(forged) != ids.content_digest(GENUINE)
