"""Message-ID helpers, stable hashes, topic external ids, Discourse's own ids."""
import re

import pytest

from forumsync.mail.ids import (message_id_list, normalize_message_id, parse_discourse_message_id,
                                stable_hash_id, topic_external_id)
from tests.fixtures.mail import eml_bytes


@pytest.mark.parametrize("value, expected", [
    ("<abc@def>", "abc@def"), ("  <abc@def> (comment)", "abc@def"), ("abc@def", "abc@def"),
    ("<abc\r\n @def>", "abc@def"), ("", ""), (None, ""),
    # broken ids never keep stray angle brackets (the plugin would refuse them)
    ("abc@def> <ghi", "abc@def"), ("<>", ""),
])
def test_normalize_message_id(value, expected):
    assert normalize_message_id(value) == expected


def test_message_id_list():
    assert message_id_list("<a@x> <b@y>\n <a@x>") == ["a@x", "b@y"]
    assert message_id_list("foo bar <x@y> (comment)") == ["x@y"]
    assert message_id_list("a@x b@y") == ["a@x", "b@y"]  # no brackets at all
    assert message_id_list("") == []


def test_stable_hash_is_the_same_across_channels():
    raw = eml_bytes("no-message-id.eml")
    lf = raw.replace(b"\r\n", b"\n")
    via_lmtp = b"Return-Path: <x@y>\nReceived: from a by b\nDelivered-To: bistro@x\n" + lf
    via_mbox = b"From scanner@ville-exemple.fr Tue Mar 19 07:55:00 2024\n" + lf.replace(b"\n", b"\r\n")
    digest = stable_hash_id(raw)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert stable_hash_id(via_lmtp) == digest
    assert stable_hash_id(via_mbox) == digest
    assert stable_hash_id(lf + b"\n\n") == digest  # trailing blank lines


def test_stable_hash_differs_for_different_mail():
    raw = eml_bytes("no-message-id.eml")
    assert stable_hash_id(raw) != stable_hash_id(raw.replace(b"du club", b"du bureau"))
    assert stable_hash_id(raw) != stable_hash_id(raw.replace(b"07:55:00", b"07:56:00"))


def test_topic_external_id():
    ext = topic_external_id("<CAGx7Tq0=Zk1f2+abc@mail.gmail.com>")
    assert ext == topic_external_id("CAGx7Tq0=Zk1f2+abc@mail.gmail.com")
    assert ext.startswith("ml-") and len(ext) == 43 and len(ext) <= 50
    assert re.fullmatch(r"[\w-]+", ext)
    assert ext != topic_external_id("other@x")


@pytest.mark.parametrize("value, host, expected", [
    ("<discourse/post/4242@forum.example.org>", None, 4242),
    ("discourse/post/4242@forum.example.org", "forum.example.org", 4242),
    ("<discourse/post/4242@forum.example.org>", "other.example.org", None),
    ("<topic/12/345@forum.example.org>", None, 345),
    ("<topic/12/345.a1b2c3@forum.example.org>", "forum.example.org", 345),
    ("<topic/12@forum.example.org>", None, None),
    ("<CAGx7Tq0@mail.gmail.com>", None, None),
    ("", None, None),
])
def test_parse_discourse_message_id(value, host, expected):
    assert parse_discourse_message_id(value, host) == expected
