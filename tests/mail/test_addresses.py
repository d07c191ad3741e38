"""Address helpers: tolerant parsing, decoded names, lower-cased addresses."""
import pytest

from forumsync.mail import all_recipients, parse_address, parse_addresses, parse_bytes


@pytest.mark.parametrize("value, expected", [
    ("Jeanne Dupont <Jeanne.Dupont@Meyzieu.fr>", ("Jeanne Dupont", "jeanne.dupont@meyzieu.fr")),
    ('"MOREAU Claire" <c.moreau@cc-pays-de-gex.fr>', ("MOREAU Claire", "c.moreau@cc-pays-de-gex.fr")),
    ("=?utf-8?Q?Dupont=2C_Jean?= <j@x.fr>", ("Dupont, Jean", "j@x.fr")),
    ("MAILER-DAEMON@mx.meyzieu.fr (Mail Delivery System)", ("Mail Delivery System", "mailer-daemon@mx.meyzieu.fr")),
    ("scanner@ville-exemple.fr", ("", "scanner@ville-exemple.fr")),
    ("Jos\udce9 <j@x.fr>", ("José", "j@x.fr")),
    ("undisclosed-recipients:;", ("undisclosed-recipients:;", "")),
    ("", ("", "")),
])
def test_parse_address(value, expected):
    assert parse_address(value) == expected


def test_parse_addresses_keeps_every_address():
    pairs = parse_addresses('a@x.fr, "B, C" <b@y.fr>, <c@z.fr>')
    assert [p[1] for p in pairs] == ["a@x.fr", "b@y.fr", "c@z.fr"]
    assert pairs[1][0] == "B, C"


def test_all_recipients_from_to_cc_delivered_to(eml):
    msg = eml("theme-address-sve.eml")
    assert all_recipients(msg) == ["sve@listes.example.org", "club@listes.example.org",
                                   "bistro@forumsync.example.org"]


def test_all_recipients_x_original_to_and_dedup():
    msg = parse_bytes(b"To: Club <CLUB@listes.example.org>\nCc: club@listes.example.org\n"
                      b"X-Original-To: sve@listes.example.org\n\nx")
    assert all_recipients(msg) == ["club@listes.example.org", "sve@listes.example.org"]
