"""loop: our own echoes are dropped, everything else passes."""
import pytest

from forumsync.mail import parse_bytes
from forumsync.pipeline import loop
from forumsync.pipeline.errors import Drop
from tests.fixtures.mail import TESTDATA


def test_echo_testdata_dropped(understand):
    with pytest.raises(Drop) as info:
        understand("echo-forumsync.eml", upto="loop")
    assert info.value.reason.startswith("écho d'un message envoyé par forumsync")


@pytest.mark.parametrize("headers", [
    b"X-Forumsync: bistro\n",
    b"X-Loop: bistro@forumsync.example.org\n",
    b"X-Loop: <BISTRO@forumsync.example.org>\n",
    b"X-Loop: club@listes.example.org\nX-Loop: bistro@forumsync.example.org\n",
    b"Message-ID: <discourse/post/17@127.0.0.1>\n",
    b"From: Bistro <bistro@forumsync.example.org>\n",
])
def test_each_marker_alone_is_enough(mail_ctx, headers):
    msg = parse_bytes(b"From: Jeanne <j@x.fr>\n" * (b"From:" not in headers) + headers + b"Subject: x\n\nbody")
    looped, reason = loop.check(mail_ctx.settings, msg)
    assert looped and "forumsync" in reason


def test_discourse_ids_of_another_forum_are_not_ours(mail_ctx):
    msg = parse_bytes(b"From: Discourse <noreply@meta.discourse.org>\n"
                      b"Message-ID: <discourse/post/17@meta.discourse.org>\nX-Loop: other@list.org\n\nx")
    assert loop.check(mail_ctx.settings, msg) == (False, "")


@pytest.mark.parametrize("name", sorted(p.name for p in TESTDATA.glob("*.eml") if p.name != "echo-forumsync.eml"))
def test_other_testdata_pass(mail_ctx, eml, name):
    loop.process(mail_ctx, eml(name), {})
