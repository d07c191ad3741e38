"""Who really wrote a list message: undo Mailman's DMARC From-munging.

A munged message reads ``From: "Jeanne Dupont via Club" <club@listes…>``; the real address is
in X-Original-From, else Reply-To (Mailman 3's default), else a Cc with the same name (when the
list sets Reply-To to itself), else Sender.

Those headers are the sender's own words but for the one address the list added: Mailman 3
(``handlers/dmarc.py``) *appends* the original From to the Reply-To (or Cc) the sender wrote,
and passes X-Original-From through as written. So in Reply-To and Cc the last address is read
first, and ``author_claims`` lists every distinct address these headers offer: when there is
more than one, the mail names several authors and none of them is believed (the ``sender``
stage treats it as a From with several addresses; a domain's DMARC pass would otherwise be
credited to a colleague's mailbox the sender wrote there, red-team pass 12).
"""
from __future__ import annotations

import re

from .addresses import header_addresses, parse_address
from .headers import header_str, raw_header_all

_VIA = re.compile(r"^(?P<name>.*?)\s+(?:via|par\s+l'interm[ée]diaire\s+de)\s+\S.*$", re.IGNORECASE)
_LIST_ROLES = re.compile(r"-(?:bounces|owner|request|admin|confirm|join|leave)(?:\+.*)?@", re.I)


def list_addresses(msg, list_address: str | None = None) -> set[str]:
    """The list's own addresses: settings.LIST_ADDRESS and the List-Post header's mailto."""
    found = {list_address.lower()} if list_address else set()
    match = re.search(r"mailto:([^>\s?]+)", header_str(msg, "List-Post"), re.I)
    if match:
        found.add(match.group(1).lower())
    return found


def _usable(addr: str, lists: set[str]) -> bool:
    return bool(addr) and addr not in lists and not _LIST_ROLES.search(addr)


def _munging(msg, list_address):
    """(name, address, real name, list addresses, candidates) of MSG's From; candidates is
    None when From is not the list's (no munging to undo)."""
    # The raw header (as parse_addresses reads it): an encoded-word that decodes to an
    # address is a name, never the sender's address.
    raw_from = raw_header_all(msg, "From")
    name, addr = parse_address(raw_from[0] if raw_from else "")
    lists = list_addresses(msg, list_address)
    via = _VIA.match(name or "")
    if addr not in lists and not (via and _LIST_ROLES.search(addr or "")):
        return name, addr, name, lists, None
    real_name = via.group("name").strip(" \"'") if via else name
    candidates = header_addresses(msg, "X-Original-From") + header_addresses(msg, "Reply-To")[::-1]
    candidates += [p for p in header_addresses(msg, "Cc") if real_name and p[0] == real_name][::-1]
    candidates += header_addresses(msg, "Sender")
    return name, addr, real_name, lists, [c for c in candidates if _usable(c[1], lists)]


def real_sender(msg, list_address: str | None = None) -> tuple[str, str]:
    """(name, email) of the author, DMARC munging undone when detected."""
    name, addr, real_name, _lists, candidates = _munging(msg, list_address)
    if candidates is None:
        return name, addr
    for cand_name, cand_addr in candidates:
        return (cand_name or real_name), cand_addr
    return real_name, addr


def author_claims(msg, list_address: str | None = None) -> set[str]:
    """The distinct addresses (lower-cased) a munged MSG offers as its author; empty when
    From is not the list's. More than one: the mail names several authors."""
    candidates = _munging(msg, list_address)[4]
    return {addr.lower() for _name, addr in candidates or ()}
