"""Header values built from what the forum and the mail said (names, titles, addresses): one
line each, and display names that can never be read as another address."""
from __future__ import annotations

import re
from email.charset import Charset
from email.headerregistry import Address
from email.utils import formataddr

from ..mail.inert import strip_bidi

# Control characters (CR, LF, NUL, tabs, Unicode line/paragraph separators) never reach a header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def one_line(value, limit: int = 300) -> str:
    """A header-safe single line: control characters become spaces, no bidi controls (a title
    « …\u202efdp.exe » read « …exe.pdf »: red team, twentieth pass), length bounded, and no
    text that the email package would read as an encoded word."""
    text = _CONTROL.sub(" ", strip_bidi(str(value or ""))).strip()
    text = re.sub(r" {2,}", " ", text)[:limit]
    # An RFC 2047 encoded word starts with "=?": the email package decodes one it is given in
    # a header value, and an ASCII result goes out as decoded, CR LF included (a forum title
    # « =?us-ascii?q?x=0D=0AReply-To:_…?= » added headers and a body to the list's mail, red
    # team, twelfth pass). A WORD JOINER after the "=" keeps it text: it reads the same.
    return text.replace("=?", "=\u2060?")


# Never in a msg-id (RFC 5322 3.6.4): blanks, control characters, angle brackets. A stored id
# came from someone's mail; what a header of ours carries of it is cleaned (red team, ninth
# pass: NUL and \x01 reached In-Reply-To as written).
_NOT_IN_MESSAGE_ID = re.compile(r"[\x00-\x20\x7f<>]")


def bracket(message_id: str) -> str:
    """``<id>`` from a stored id (stored ids have no angle brackets)."""
    return "<" + _NOT_IN_MESSAGE_ID.sub("", message_id) + ">"


# A display name that could be read as (part of) an address list: specials of RFC 5322 3.2.3.
_ADDRESS_LIKE = re.compile(r'[<>@,;:"\\()\[\]]')


def mailbox(display_name: str, target: str) -> str:
    """``name <target>`` where the name can never be read as another address (X-Original-From).

    A plain name goes through ``formataddr`` (quoted when needed). A name holding address
    syntax (« Marie <admin@club.fr>, "x ») or non-ASCII letters becomes RFC 2047 encoded
    words: one opaque phrase for parsers that split before decoding (RFC 5322/2047), with no
    ``@``/``,``/``<`` for lenient ones that scan the raw text for anything address-like (the
    profile URL used when the address is not exposed is no addr-spec, so such parsers fall
    back to scanning)."""
    name = one_line(display_name, 120)
    if not name:
        return f"<{target}>"
    if name.isascii() and not _ADDRESS_LIKE.search(name):
        return formataddr((name, target))
    return f"{encoded_words(name)} <{target}>"


def encoded_words(text: str, chunk_bytes: int = 45) -> str:
    """TEXT as RFC 2047 encoded words (always encoded, even when ASCII), each under
    75 characters and cut between characters."""
    charset = Charset("utf-8")
    words, chunk = [], ""
    for char in text:
        if chunk and len((chunk + char).encode("utf-8")) > chunk_bytes:
            words.append(charset.header_encode(chunk))
            chunk = ""
        chunk += char
    if chunk:
        words.append(charset.header_encode(chunk))
    return " ".join(words)


def named_address(addr: str, display_name: str = "") -> Address:
    username, domain = addr.rsplit("@", 1)
    return Address(display_name=one_line(display_name, 120), username=username, domain=domain)
