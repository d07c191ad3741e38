"""Red team, pass 13: text written by a mail's sender must not reach the operator's terminal
as control sequences (ESC, BEL, CSI…) through `forumsync inbox list` / `inbox show`.

An encoded word (RFC 2047) decodes to any character, ESC included: a Subject or From of
``=?utf-8?q?=1B]0;...=07=1B[2J?=`` clears the screen, retitles the terminal, or (with OSC 52
on some terminals) writes the operator's clipboard, and can rewrite the lines shown before it
(``ESC[1A``: the state column of another message).
"""
import io
import re

import pytest

from forumsync.context import Context
from forumsync.inbound.ingest import ingest
from tests.fixtures.database import make_settings
from tests.fixtures.inbound import run_cli, write_settings_file

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 (but \t \n) + DEL + C1

HOSTILE = (b"From: =?utf-8?q?Marie=1B[2J=1B]0;pwn=07?= <marie@meyzieu.fr>\r\n"
           b"To: club@listes.example.org\r\n"
           b"Subject: =?utf-8?q?Bonjour=1B[1A=1B[2K=9B31m_rouge=1B]52;c;ZWNobyBwd24=07?=\r\n"
           b"In-Reply-To: <x=?utf-8?q?=1B[2J?=@evil>\r\n"
           b"Message-ID: <esc-1@evil.example>\r\n"
           b"Date: Mon, 07 Dec 2026 10:00:00 +0100\r\n"
           b"\r\n"
           b"corps\r\n")


@pytest.fixture
def context(tmp_path, sqlite_url):
    ctx = Context(make_settings(tmp_path, sqlite_url))
    yield ctx
    ctx.close()


def test_inbox_list_prints_no_control_characters_from_mail(tmp_path, context):
    settings_file = write_settings_file(tmp_path, context.settings)
    ingest(context, HOSTILE, "lmtp")
    listing = run_cli(settings_file, "inbox", "list")
    assert listing.returncode == 0
    out = listing.stdout.decode()
    assert "Bonjour" in out
    assert not CONTROL.findall(out), f"inbox list: {CONTROL.findall(out)!r}"


def test_inbox_show_prints_no_control_characters_from_mail(tmp_path, context):
    settings_file = write_settings_file(tmp_path, context.settings)
    inbox_id = ingest(context, HOSTILE, "lmtp").inbox_id
    shown = run_cli(settings_file, "inbox", "show", inbox_id)
    assert shown.returncode == 0
    out = shown.stdout.decode()
    assert "Bonjour" in out
    assert not CONTROL.findall(out), f"inbox show: {CONTROL.findall(out)!r}"


class _Terminal(io.TextIOWrapper):
    def isatty(self):
        return True


def test_a_raw_message_is_made_printable_on_a_terminal_only(monkeypatch):
    from forumsync.commands import terminal

    for tty in (True, False):
        buffer = io.BytesIO()
        stream = (_Terminal if tty else io.TextIOWrapper)(buffer, encoding="utf-8")
        monkeypatch.setattr(terminal.sys, "stdout", stream)
        terminal.write_raw(HOSTILE + b"\x1b[2J fin\r\n")
        stream.flush()
        out = buffer.getvalue()
        if tty:  # shown: the escapes written out, the lines kept
            assert b"\x1b" not in out and rb"\x1b[2J fin" in out and b"\ncorps\n" in out and b"\\r" not in out
            assert not CONTROL.findall(terminal.printable("\x1b[2J\u202e\x9b"))
            assert terminal.printable("é\tà\n") == "é\tà\n"
        else:  # piped to a file: the bytes as received
            assert out == HOSTILE + b"\x1b[2J fin\r\n"
