"""Issue 12.9: a forum member's display name never becomes a second address in X-Original-From.

Through the real service: a member named « Marie <admin@club.fr>, "x » posts on the local
forum, the signed webhook reaches forumsync over HTTP, the mail leaves through SMTP; the
header is read back with three parsers (email.headerregistry, email.utils.getaddresses,
forumsync's own tolerant one)."""
from __future__ import annotations

import email
from email.headerregistry import HeaderRegistry
from email.utils import getaddresses

import pytest

from forumsync.mail.addresses import parse_addresses
from forumsync.mail.headers import decode_header_value
from forumsync.outbound.headers import mailbox
from tests.fixtures.outbound import Bridge

EVIL_NAMES = ['Marie <admin@club.fr>, "x', 'Zoé <admin@club.fr>, "x', 'admin@club.fr',
              'Jean (admin@club.fr) Dupont; <admin@club.fr>']


def _raw_header(raw: bytes, name: str) -> str:
    legacy = email.message_from_bytes(raw)  # compat32: the header as it travelled
    return " ".join(str(legacy[name]).split())


def _addresses(value: str) -> list[str]:
    found = [a.lower() for _, a in getaddresses([value])]
    found += [a for _, a in parse_addresses(value)]
    header = HeaderRegistry()("to", value)
    found += [str(a.addr_spec).lower() for a in header.addresses]
    return found


@pytest.mark.parametrize("expose", [False, True])
def test_display_name_never_parses_as_another_address(tmp_path, sqlite_url, make_localforum, smtp_sink, expose):
    bridge = Bridge(tmp_path, sqlite_url, make_localforum, smtp_sink, EXPOSE_AUTHOR_EMAIL=expose)
    try:
        for n, name in enumerate(EVIL_NAMES):
            bridge.forum.create_user(f"membre{n}", f"membre{n}@meyzieu.fr", name)
            bridge.topic(f"membre{n}", f"Sujet numéro {n} du membre", "Bonjour à tous, voici mon message.")
        bridge.process()
        mails = [raw for _, _, raw in smtp_sink.messages]
        assert len(mails) == len(EVIL_NAMES)
        for raw in mails:
            value = _raw_header(raw, "X-Original-From")
            assert "admin@club.fr" not in _addresses(value), value
            header = HeaderRegistry()("to", value)
            if expose:
                [address] = header.addresses
                assert address.addr_spec.startswith("membre") and address.display_name in EVIL_NAMES
            else:
                assert "/u/membre" in value
                assert any(decode_header_value(value).startswith(name) for name in EVIL_NAMES)
    finally:
        bridge.close()


@pytest.mark.parametrize("name", EVIL_NAMES + ["Marie Dupré", "Jean-Luc O'Neil", "J. Martin", ""])
def test_mailbox_round_trips_names(name):
    value = mailbox(name, "marie@meyzieu.fr")
    assert value.isascii()
    [address] = HeaderRegistry()("to", value).addresses
    assert address.addr_spec == "marie@meyzieu.fr"
    assert address.display_name == name
    assert _addresses(value) == ["marie@meyzieu.fr"] * 3
