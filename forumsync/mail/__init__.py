"""Pure helpers over email messages, shared by the inbound pipeline and outbound code.

POLICY is ``email.policy.default`` with ``raise_on_defect=False``: we want EmailMessage objects
(the contract of every stage, and what outbound code builds), and real list mail is hostile
(broken headers, bad charsets). compat32 would hand back ``Header`` objects and ``Message``
instances; instead, headers are read through ``header_str`` which works on the raw stored
value and never raises, and bodies are decoded by ``forumsync.mail.decode`` (never by
``get_content``, which raises on unknown charsets).
"""
from __future__ import annotations

import email
import email.policy
import functools
import re
from email.message import EmailMessage

from . import boundary
from .addresses import all_recipients, parse_address, parse_addresses
from .headers import decode_header_value, header_all, header_str
from .mime import ENCODED_MESSAGE_CTES, content_transfer_encoding

# Header values up to this size have their parsed header objects memoised (see below).
_CACHED_HEADER_CHARS = 2000

# Read by the email package itself (type, boundary, charset, filename, transfer encoding),
# through str() only: for a plain value (ASCII tokens, quoted strings without escapes, no
# RFC 2231 ``*`` name, no encoded word, no comment) that reads the same as the header object.
_MIME_HEADERS = frozenset(("content-type", "content-disposition"))
_TOKEN = r"[A-Za-z0-9!#$%&+.^_`{|}~-]+"
_PLAIN_MIME = re.compile(rf"""(?!.*=\?){_TOKEN}(?:/{_TOKEN})?"""
                         rf"""(?:[ \t]*;[ \t]*[A-Za-z0-9][A-Za-z0-9._-]*=(?:{_TOKEN}|"[ !#-\[\]-~]+"))*[ \t]*""")
_PLAIN_ENCODING = re.compile(_TOKEN)


@functools.lru_cache(maxsize=512)
def _parsed_header(factory, name: str, value: str):
    return factory(name, value)


class _MemoisingPolicy(email.policy.EmailPolicy):
    """``email.policy.default``, but a header read twice is parsed once.

    The parser itself asks for Content-Type three or four times per part (and the default
    policy builds a new structured header object each time: most of the parse time); the
    header objects are immutable, so equal (name, value) pairs share one. Long values (rare,
    maybe hostile) are not kept. Plain MIME header values (nearly all; a multipart's unique
    boundary would miss the cache every time) are not parsed at all: see _MIME_HEADERS.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        value = "".join(email.policy.linesep_splitter.split(value))
        kind = name.lower()
        if kind in _MIME_HEADERS and _PLAIN_MIME.fullmatch(value) or \
                kind == "content-transfer-encoding" and _PLAIN_ENCODING.fullmatch(value):
            return value  # see _MIME_HEADERS: a unique boundary or filename is never parsed
        if len(value) > _CACHED_HEADER_CHARS:
            return self.header_factory(name, value)
        return _parsed_header(self.header_factory, name, value)


class _Message(EmailMessage):
    """An EmailMessage for which a message/* part sent with a transfer encoding (see
    ``mime.ENCODED_MESSAGE_CTES``) is no message/* part: the parser, which parses any
    message/* payload as a message, would parse the *encoded* text (lines of base64 shown as
    the forward: red team, nineteenth pass). It stays a leaf, its payload the encoded text,
    which ``body.forwarded`` decodes as it came and parses."""

    def get_content_type(self):
        ctype = super().get_content_type()
        if ctype.startswith("message/") and content_transfer_encoding(self) in ENCODED_MESSAGE_CTES:
            return "application/octet-stream"
        return ctype


POLICY = _MemoisingPolicy().clone(raise_on_defect=False, message_factory=_Message)
boundary.install()  # the feedparser's per-part boundary pattern, without a compile each time


def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse raw RFC 822 bytes; never raises on malformed mail (defects are recorded)."""
    return email.message_from_bytes(raw, policy=POLICY)


__all__ = ["POLICY", "parse_bytes", "header_str", "header_all", "decode_header_value",
           "parse_address", "parse_addresses", "all_recipients"]
