"""The verdict rules of forumsync.mail.authresults on hand-written headers (the attacks
themselves go through the service in test_authors.py)."""
from __future__ import annotations

import pytest

from forumsync.mail import parse_bytes
from forumsync.mail.authresults import FAIL, NONE, PASS, raw_authserv_id, trusted_results, verdict

ID = "mx.listes.example.org"


def _msg(*results: str, sender="chef@club-publik.fr") -> object:
    head = "".join(f"Authentication-Results: {r}\n" for r in results)
    return parse_bytes(f"{head}From: {sender}\nSubject: s\n\nx\n".encode())


@pytest.mark.parametrize("value, expected", [
    (f"{ID}; dmarc=pass", ID),
    (f"  (commentaire) {ID} 1; none", ID),
    (f'"{ID}"; dmarc=pass', ID),
    (f"{ID.upper()}; dmarc=pass", ID.upper()),
    ("", ""),
])
def test_raw_authserv_id(value, expected):
    assert raw_authserv_id(value) == expected


def test_only_our_exact_authserv_id_counts():
    msg = _msg(f"{ID.upper()}; dmarc=fail header.from=club-publik.fr",
               "autre.example; dmarc=pass header.from=club-publik.fr",
               f"{ID}; dmarc=pass header.from=club-publik.fr")
    assert [(r.method, r.result) for r in trusted_results(msg, ID)] == [("dmarc", "pass")]
    assert verdict(msg, ID, "chef@club-publik.fr").status == PASS


def test_no_authserv_id_means_no_verdict_even_with_a_pass():
    msg = _msg(f"{ID}; dmarc=pass header.from=club-publik.fr")
    assert verdict(msg, None, "chef@club-publik.fr").status == NONE


def test_unparsable_header_counts_as_absent():
    msg = _msg(f"{ID}; dmarc=pass header.from=club-publik.fr; ceci n'est pas un résultat")
    assert verdict(msg, ID, "chef@club-publik.fr").status == NONE


@pytest.mark.parametrize("results, status", [
    ([f"{ID}; dmarc=pass header.from=club-publik.fr"], PASS),
    ([f"{ID}; dmarc=pass"], NONE),                   # no header.from: credited to no domain
    ([f"{ID}; dmarc=fail"], FAIL),                                    # a failure still counts
    ([f"{ID}; dmarc=fail header.from=CLUB-PUBLIK.FR"], FAIL),         # any case
    ([f"{ID}; dmarc=pass header.from=evil.example"], FAIL),           # someone else authenticated
    ([f"{ID}; dkim=fail header.d=club-publik.fr"], FAIL),
    ([f"{ID}; dkim=fail header.d=evil.example"], NONE),               # not aligned: says nothing
    ([f"{ID}; spf=fail smtp.mailfrom=bounce@mail.club-publik.fr"], FAIL),  # relaxed alignment
    ([f"{ID}; dkim=pass header.d=club-publik.fr"], PASS),
    ([f"{ID}; dmarc=none header.from=club-publik.fr"], NONE),
    ([f"{ID}; dmarc=pass header.from=club-publik.fr", f"{ID}; dkim=fail header.d=club-publik.fr"], FAIL),
    ([f"{ID}; spf=softfail smtp.mailfrom=club-publik.fr"], NONE),
])
def test_verdicts(results, status):
    assert verdict(_msg(*results), ID, "chef@club-publik.fr",
                   from_header_domain="club-publik.fr").status == status


def test_dmarc_without_domain_is_not_about_a_munged_mails_author():
    msg = _msg(f"{ID}; dmarc=pass", sender="club@listes.example.org")
    assert verdict(msg, ID, "chef@club-publik.fr", from_header_domain="listes.example.org").status == NONE
