"""Red-team pass 12: a forum title or display name written as an RFC 2047 encoded word is decoded
by Python's header registry when compose assigns it, and the CR/LF it encodes reaches the
header block of the list mail: extra headers (Reply-To to the attacker), or a blank line
that ends the headers and turns the rest of the mail into the member's own body."""
import email
from email import policy

import pytest

from forumsync.outbound import compose
from forumsync.outbound.mailpolicy import POLICY
from forumsync.settings import Settings

# ASCII, no control character: one_line lets it through untouched. Decoded by the header
# registry: « x\r\nReply-To: escroc@evil.example\r\n\r\nVirez la cotisation ici … »
TITLE = ("Cotisation 2027 =?us-ascii?q?x=0D=0AReply-To:_escroc=40evil.example=0D=0A=0D=0A"
         "Virez_la_cotisation_ici_https://evil.example/pay?=")
NAME = "=?us-ascii?q?x=0D=0AReply-To:_e=40evil.fr?="   # under NAME_CHARS (64)
EXPECTED = {b"from", b"to", b"reply-to", b"subject", b"date", b"message-id", b"in-reply-to",
            b"references", b"x-original-from", b"x-loop", b"x-forumsync", b"mime-version",
            b"content-type"}


def _header_names(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0].strip().lower() for line in head.split(b"\r\n")
            if line[:1] not in (b" ", b"\t")]


def _check(raw: bytes) -> None:
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b""), head
    names = _header_names(raw)
    assert set(names) <= EXPECTED and names.count(b"reply-to") == 1, names
    assert b"content-type" in names and b"message-id" in names, names  # still the whole header block
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert [a.addr_spec for a in mail["Reply-To"].addresses] == ["club@listes.example.org"]
    assert mail.get_body(("html",)) is not None


@pytest.fixture
def conf(tmp_path):
    return Settings({"FORUM_URL": "https://bistro.example.org", "FORUM_NAME": "Bistro",
                     "LIST_ADDRESS": "club@listes.example.org", "LIST_NAME": "Club Publik",
                     "BRIDGE_ADDRESS": "bistro@forumsync.example.org"}, "<t>", tmp_path)


@pytest.mark.parametrize("field", ["title", "author_name"])
@pytest.mark.parametrize("edited", [False, True])
def test_an_encoded_word_from_the_forum_never_reaches_the_header_block(conf, field, edited):
    values = dict(post_id=321, topic_id=7, post_number=2, username="marie", author_name="Marie",
                  cooked="<p>Bonjour</p>", title="Titre ordinaire du sujet", edited=edited)
    values[field] = TITLE if field == "title" else NAME
    _check(compose.compose_post(conf, compose.ForumPost(**values)).as_bytes(policy=POLICY))


@pytest.fixture
def env(sqlite_bridge):
    return sqlite_bridge


def test_a_member_titling_a_topic_with_an_encoded_word_cannot_rewrite_the_list_mail(env):
    """Through the local forum, its signed webhook, the worker and a real SMTP sink."""
    env.topic("marie", TITLE, "Bonjour, voici l'appel à cotisation de cette année.")
    env.process()
    [(_, recipients, raw)] = env.sink.messages
    assert recipients == ["club@listes.example.org"]
    _check(raw)


@pytest.mark.parametrize("field", ["subject", "to_name"])
def test_an_encoded_word_never_reaches_a_personal_mails_header_block(conf, field):
    """Same root cause in compose_personal: a release feed's entry title (« Nouvelle version :
    … », announced to the list) or a subscriber's roster name (the welcome's To)."""
    values = dict(to="club@listes.example.org", to_name="", subject="Nouvelle version : 1.2",
                  text="Une nouvelle version est parue.", topic_id=7)
    values[field] = ("Nouvelle version : " + TITLE) if field == "subject" else NAME
    raw = compose.compose_personal(conf, **values).as_bytes(policy=POLICY)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")
    names = _header_names(raw)
    assert names.count(b"reply-to") == 1 and b"content-type" in names, names
