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
from email.message import EmailMessage

from .addresses import all_recipients, parse_address, parse_addresses
from .headers import decode_header_value, header_all, header_str

# Header values up to this size have their parsed header objects memoised (see below).
_CACHED_HEADER_CHARS = 2000


@functools.lru_cache(maxsize=512)
def _parsed_header(factory, name: str, value: str):
    return factory(name, value)


class _MemoisingPolicy(email.policy.EmailPolicy):
    """``email.policy.default``, but a header read twice is parsed once.

    The parser itself asks for Content-Type three or four times per part (and the default
    policy builds a new structured header object each time: most of the parse time); the
    header objects are immutable, so equal (name, value) pairs share one. Long values (rare,
    maybe hostile) are not kept.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or len(value) > _CACHED_HEADER_CHARS:
            return super().header_fetch_parse(name, value)
        return _parsed_header(self.header_factory, name,
                              "".join(email.policy.linesep_splitter.split(value)))


POLICY = _MemoisingPolicy().clone(raise_on_defect=False)


def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse raw RFC 822 bytes; never raises on malformed mail (defects are recorded)."""
    return email.message_from_bytes(raw, policy=POLICY)


__all__ = ["POLICY", "parse_bytes", "header_str", "header_all", "decode_header_value",
           "parse_address", "parse_addresses", "all_recipients"]
