"""Address parsing that tolerates what real clients send (bare addresses, 8-bit names…)."""
from __future__ import annotations

import email.utils
import functools
import re

from .headers import decode_header_value, raw_header_all

_ADDR = re.compile(r"[^\s<>()\"',;:@]+@[^\s<>()\"',;:@]+\.[^\s<>()\"',;:@]+")

RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "Resent-To")


def _clean_email(addr: str) -> str:
    addr = addr.strip().strip("<>").strip().lower()
    # An encoded-word is never part of an address (RFC 2047 5): whatever it decodes to.
    return addr if _ADDR.fullmatch(addr) and "=?" not in addr else ""


def parse_addresses(value: str) -> list[tuple[str, str]]:
    """(name, email) pairs of a raw address header; names decoded, emails lower-cased.

    Parsing happens before RFC 2047 decoding so that an encoded comma in a name
    (``=?utf-8?Q?Dupont=2C_Jean?=``) does not split it.
    """
    if not value:
        return []
    value = " ".join(str(value).split())
    if len(value) <= _CACHED_VALUE_CHARS:  # the list's own address, regular senders…
        return list(_parse_addresses_cached(value))
    return _parse_addresses(value)


# email.utils.getaddresses is the costliest part of reading a message's headers, and the
# same values (To: the list, a regular sender's From) come back in message after message.
_CACHED_VALUE_CHARS = 2000


@functools.lru_cache(maxsize=1024)
def _parse_addresses_cached(value: str) -> tuple[tuple[str, str], ...]:
    return tuple(_parse_addresses(value))


def _parse_addresses(value: str) -> list[tuple[str, str]]:
    pairs = []
    try:
        parsed = email.utils.getaddresses([value])
    except Exception:
        parsed = []
    for name, addr in parsed:
        # A quoted local part holding "@" ('"admin@club"@evil.example') is that local part,
        # as RFC 5322 parsers (email.headerregistry, the MTA's DMARC) read it: not an
        # address of ours, so never an account's. _clean_email refuses it ('"').
        addr = _clean_email(addr)
        if addr:
            pairs.append((decode_header_value(name).strip(" \"'"), addr))
    if not pairs and not any("@" in addr for _, addr in parsed):
        # getaddresses gave up: pick anything that looks like an address, never from inside
        # a quoted string or an encoded-word (those are names, not addresses).
        for match in _ADDR.finditer(value):
            if "\"" not in value[:match.start()] and "=?" not in match.group(0):
                pairs.append(("", _clean_email(match.group(0))))
    return [p for p in pairs if p[1]]


def parse_address(value: str) -> tuple[str, str]:
    """First (name, email) of a header value; ("", "") when none is found."""
    pairs = parse_addresses(value)
    if pairs:
        return pairs[0]
    return decode_header_value(value), ""


def header_addresses(msg, name: str) -> list[tuple[str, str]]:
    """(name, email) pairs of every header NAME of MSG."""
    pairs = []
    for raw in raw_header_all(msg, name):
        pairs.extend(parse_addresses(raw))
    return pairs


def all_recipients(msg, headers=RECIPIENT_HEADERS) -> list[str]:
    """Lower-cased recipient addresses (To, Cc, Delivered-To, X-Original-To…), deduplicated."""
    seen = []
    for name in headers:
        for _, addr in header_addresses(msg, name):
            if addr not in seen:
                seen.append(addr)
    return seen
