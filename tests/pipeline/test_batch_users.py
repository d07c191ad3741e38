"""The claim's senders prefetched in one request (pipeline/batch_users.py): the header scan
finds the addresses a parse of the header block finds."""
from __future__ import annotations

from email.parser import HeaderParser
from email.utils import getaddresses

import pytest

from forumsync.pipeline.batch_users import AUTHOR_HEADERS, HEAD_BYTES, author_addresses
from forumsync.testing.corpus import corpus_raws
from tests.conftest import real_data


def parsed_addresses(raw: bytes) -> list[str]:
    """What the whole header block, parsed, gives for the author headers."""
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0]
    head = HeaderParser().parsestr(raw[:min(ends) if ends else len(raw)].decode("latin-1"))
    values = [str(v) for name in AUTHOR_HEADERS for v in (head.get_all(name) or ())]
    return [address for _name, address in getaddresses(values) if "@" in address]


MAILS = [
    b"From: Marie <marie@meyzieu.fr>\nTo: club@listes.example.org\nSubject: x\n\nFrom: pas@un.en-tete\n",
    b"from: =?utf-8?q?Fran=C3=A7oise?=\r\n <f@lyon.fr>\r\nReply-To: a@b.fr,\r\n\tc@d.fr\r\n\r\nCorps\r\n",
    b"From someone@example.org Tue Jan 13 08:12:00 2026\nSender: liste-bounces@x.org\n"
    b"X-Original-From: Paul <p@montpellier.fr>\nFrom: Liste via club <club@x.org>\n\n",
    b"Subject: sans expediteur\nTo: t@x.fr\n",
    b"From: \"Dupont, Jean\" <jean@grandlyon.fr> (la mairie)\nReply-To: undisclosed:;\n\n",
]


@pytest.mark.parametrize("raw", MAILS)
def test_the_scan_finds_what_a_parse_finds(raw):
    assert sorted(author_addresses(raw)) == sorted(parsed_addresses(raw))  # one request: order is free


def test_the_scan_reads_the_headers_only():
    assert author_addresses(MAILS[0]) == ["marie@meyzieu.fr"]  # not the From: line of the body
    assert sorted(author_addresses(MAILS[2])) == ["club@x.org", "liste-bounces@x.org", "p@montpellier.fr"]


@pytest.mark.slow
def test_the_scan_finds_what_a_parse_finds_over_the_corpus():
    path = real_data("corpus", "usrp-users-dev2k.mbox.gz")
    differ = [raw[:200] for raw in corpus_raws([path])
              if sorted(author_addresses(raw[:HEAD_BYTES])) != sorted(parsed_addresses(raw[:HEAD_BYTES]))]
    assert differ == []
