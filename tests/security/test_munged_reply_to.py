"""Red-team pass 12: a DMARC-munged list mail names its author in headers its sender wrote.

Mailman 3 (handlers/dmarc.py, munged_headers) rewrites ``From`` to the list and *appends* the
original From to the Reply-To the sender wrote (or to Cc when the list points Reply-To at
itself); headers such as X-Original-From pass through untouched. The MTA in front of the
list authenticated the original From's *domain* (``dmarc=pass header.from=club-publik.fr``).

``mail.sender.real_sender`` took the *first* usable X-Original-From / Reply-To / same-name Cc
address, so the sender chose it; the domain-level pass was then credited to that mailbox:
anyone able to send DMARC-passing mail from the staff member's domain (a colleague at the same
town hall, any user of the same mail provider) posted under the staff account."""
from __future__ import annotations

import pytest

from tests.fixtures.pipeline import make_mail
from tests.security.service import Service  # noqa: F401
from tests.security.test_authors import ADMIN, AUTHSERV, _poster, checked  # noqa: F401

ATTACKER = "benoit@club-publik.fr"  # a mailbox of the same domain as the admin's
PASS = f"{AUTHSERV}; dmarc=pass header.from=club-publik.fr"  # the MTA before Mailman
LIST_FROM = "=?utf-8?q?Benoit_via_Club_Publik?= <club@listes.example.org>"


@pytest.mark.parametrize("headers", [
    # Mailman, no Reply-To munging: the sender's Reply-To first, the original From appended
    {"Reply-To": f"Chef <{ADMIN}>, Benoit <{ATTACKER}>"},
    # a header Mailman keeps as the sender wrote it
    {"X-Original-From": f"Chef <{ADMIN}>", "Reply-To": f"Benoit <{ATTACKER}>"},
    # Reply-To pointing at the list: the original From appended to the Cc the sender wrote
    {"Reply-To": "club@listes.example.org", "Cc": f"Benoit <{ADMIN}>, Benoit <{ATTACKER}>"},
])
def test_a_munged_mail_is_not_credited_to_a_mailbox_its_sender_named(checked, headers):
    checked.forum.create_user("benoit", ATTACKER, "Benoit Marchand")
    raw = make_mail("Annonce officielle", "Nouvelle adresse du forum : https://evil.example/\n",
                    sender=LIST_FROM, extra_headers=headers)
    raw = f"Authentication-Results: {PASS}\n".encode() + raw
    row = checked.deliver(raw)
    assert row.state in ("published", "quarantined"), row.reason
    if row.state == "published":
        username, _, _ = _poster(checked, row)
        assert username != "chef", f"posted as the admin ({row.reason})"
