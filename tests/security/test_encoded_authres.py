"""Red-team pass 12: an Authentication-Results header whose authserv-id is an RFC 2047 encoded-word.

The list MTA is required to delete incoming Authentication-Results that carry its own
authserv-id (RFC 8601 §5, docs/security.md). It compares the authserv-id as written: an
encoded-word ``=?us-ascii?q?mx.listes.example.org?=`` is not its id, so the header is left in
place. forumsync read Authentication-Results through ``header_all``, which decodes RFC 2047:
the attacker's header became a trusted verdict, and a forged From posted under a staff
account (``dmarc=pass``)."""
from __future__ import annotations

import authres
import pytest

from tests.fixtures.pipeline import make_mail
from tests.security.service import Service  # noqa: F401
from tests.security.test_authors import ADMIN, AUTHSERV, _poster, checked  # noqa: F401


def mta_strips(raw: bytes) -> bytes:
    """What a conforming MTA does before adding its own header (RFC 8601 §5): delete every
    Authentication-Results whose authserv-id (parsed from the raw text) is its own."""
    head, _, body = raw.partition(b"\n\n")
    kept, skip = [], False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skip:
                kept.append(line)
            continue
        skip = False
        if line.lower().startswith(b"authentication-results:"):
            value = line.split(b":", 1)[1].decode()
            try:
                ident = authres.AuthenticationResultsHeader.parse_value(value).authserv_id
            except Exception:
                ident = value.split(";")[0].strip()
            if str(ident).lower() == AUTHSERV.lower():
                skip = True
                continue
        kept.append(line)
    return b"\n".join(kept) + b"\n\n" + body


@pytest.mark.parametrize("forged", [
    f"=?us-ascii?q?{AUTHSERV}?=; dmarc=pass header.from=club-publik.fr",
    "=?utf-8?b?" + __import__("base64").b64encode(
        f"{AUTHSERV}; dmarc=pass header.from=club-publik.fr".encode()).decode() + "?=",
])
def test_an_encoded_authserv_id_is_not_our_mta(checked, forged):
    # what the real MTA wrote: the admin's domain publishes no DMARC policy
    genuine = f"{AUTHSERV}; dmarc=none header.from=club-publik.fr; spf=pass smtp.mailfrom=evil.example"
    raw = make_mail("Annonce officielle", "Changez vos mots de passe ici : https://evil.example/\n",
                    sender=f"Chef <{ADMIN}>")
    raw = f"Authentication-Results: {forged}\n".encode() + raw  # written by the attacker, as is
    raw = mta_strips(raw)
    assert forged.encode() in raw  # the MTA did not recognise it as its own
    # (control: the same header written plainly is removed by the MTA)
    assert b"dmarc=pass" not in mta_strips(
        f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from=club-publik.fr\n".encode() + raw
        .replace(forged.encode(), b"x"))
    raw = f"Authentication-Results: {genuine}\n".encode() + raw
    row = checked.deliver(raw)
    assert row.state == "published", row.reason
    username, _, first = _poster(checked, row)
    assert username != "chef", f"posted as the admin: {row.reason}"


def test_an_encoded_authserv_id_does_not_buy_a_refusal_to_a_stranger(checked):
    """Same header, other door: a refusal (forged signed reply address) goes only to an
    authenticated sender or a subscriber. The encoded pass made any stranger 'authenticated'."""
    from forumsync.outbound.replykeys import make_reply_address

    settings = checked.ctx.settings
    good = make_reply_address(settings, "victime@grandlyon.fr", 1)
    local, domain = good.split("@")
    bad = local[:-4] + ("aaaa" if not local.endswith("aaaa") else "bbbb") + "@" + domain
    forged = f"=?us-ascii?q?{AUTHSERV}?=; dmarc=pass header.from=grandlyon.fr"
    raw = make_mail("Re: Bienvenue", "x\n", sender="Victime <victime@grandlyon.fr>", to=bad,
                    message_id="<bs-encoded@evil.example>")
    raw = mta_strips(f"Authentication-Results: {forged}\n".encode() + raw)
    row = checked.deliver(raw, rcpt=bad)
    assert row.state == "dropped"
    refusals = [m for m in checked.outbox() if m.key.startswith("refusal:")]
    assert refusals == [], f"refusal sent to a stranger: {row.reason}"
