"""Signed reply addresses: round trip, case-insensitivity, length, and every refusal."""
import pytest

from forumsync.outbound.replykeys import (BadReplyToken, is_reply_address, make_reply_address,
                                          parse_reply_address)
from forumsync.settings import Settings

NOW = 1_800_000_000


@pytest.fixture
def conf(tmp_path):
    return Settings({"SECRET_KEY": "s3cret", "BRIDGE_ADDRESS": "bistro@forumsync.example.org",
                     "REPLY_TOKEN_MAX_AGE_DAYS": 30}, "<t>", tmp_path)


def test_round_trip_and_local_part_length(conf):
    address = make_reply_address(conf, "Marie.Dupre@Meyzieu.fr", 4242, 777, now=NOW)
    local, domain = address.split("@")
    assert domain == "forumsync.example.org"
    assert local.startswith("bistro+")
    assert len(local) <= 64
    target = parse_reply_address(conf, address, "marie.dupre@meyzieu.fr", now=NOW + 60)
    assert (target.topic_id, target.post_id, target.recipient) == (4242, 777, "marie.dupre@meyzieu.fr")


def test_large_ids_and_no_post(conf):
    address = make_reply_address(conf, "a@b.fr", 2**31 - 1, None, now=NOW)
    assert len(address.split("@")[0]) <= 64
    target = parse_reply_address(conf, address, "a@b.fr", now=NOW)
    assert target.topic_id == 2**31 - 1 and target.post_id is None


def test_case_insensitive_mta(conf):
    address = make_reply_address(conf, "a@b.fr", 10, 20, now=NOW)
    for variant in (address.upper(), address.lower(), address.capitalize()):
        assert parse_reply_address(conf, variant, "A@B.FR", now=NOW).topic_id == 10


def test_uses_reply_address_when_set(conf):
    other = conf.replace(REPLY_ADDRESS="reponses@bistro.example.org")
    address = make_reply_address(other, "a@b.fr", 1, now=NOW)
    assert address.startswith("reponses+") and address.endswith("@bistro.example.org")
    assert is_reply_address(other, address)
    assert not is_reply_address(conf, address)


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-1] + ("a" if t[-1] != "a" else "b"),        # last char changed
    lambda t: ("b" if t[0] != "b" else "c") + t[1:],          # topic id altered
    lambda t: t[:10],                                          # truncated
    lambda t: t + "aaaaaaaa",                                  # lengthened
    lambda t: "!!" + t[2:],                                    # not base32
])
def test_forged(conf, mutate):
    address = make_reply_address(conf, "a@b.fr", 10, 20, now=NOW)
    local, domain = address.split("@")
    base, token = local.split("+")
    forged = f"{base}+{mutate(token)}@{domain}"
    with pytest.raises(BadReplyToken) as info:
        parse_reply_address(conf, forged, "a@b.fr", now=NOW)
    assert info.value.code == "forged"
    assert "falsifiée" in info.value.reason


def test_other_secret_is_forged(conf):
    address = make_reply_address(conf.replace(SECRET_KEY="autre"), "a@b.fr", 10, 20, now=NOW)
    with pytest.raises(BadReplyToken) as info:
        parse_reply_address(conf, address, "a@b.fr", now=NOW)
    assert info.value.code == "forged"


def test_expired(conf):
    address = make_reply_address(conf, "a@b.fr", 10, 20, now=NOW)
    parse_reply_address(conf, address, "a@b.fr", now=NOW + 30 * 86400 - 1)
    with pytest.raises(BadReplyToken) as info:
        parse_reply_address(conf, address, "a@b.fr", now=NOW + 30 * 86400 + 1)
    assert info.value.code == "expired"
    assert "expiré" in info.value.reason and "30 jours" in info.value.reason


def test_mismatched_sender(conf):
    address = make_reply_address(conf, "marie@meyzieu.fr", 10, 20, now=NOW)
    with pytest.raises(BadReplyToken) as info:
        parse_reply_address(conf, address, "pirate@example.com", now=NOW)
    assert info.value.code == "mismatch"
    assert "autre personne" in info.value.reason


def test_not_ours(conf):
    assert not is_reply_address(conf, "club@listes.example.org")
    assert not is_reply_address(conf, "bistro@forumsync.example.org")
    with pytest.raises(BadReplyToken):
        parse_reply_address(conf, "bistro+abc@autre.example.org", "a@b.fr")
