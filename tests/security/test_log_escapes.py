"""Red-team pass 14: pass 13 made every line the CLI *says* printable, but the CLI's log
handler (``cli.py``: ``logging.basicConfig`` on the terminal's error stream) writes records
as they are. Some records carry text from mail: the runner logs a message's Message-ID when
it quarantines it (``pipeline/runner.py``), ``forumsync lmtp -v`` logs its header lines. A
Message-ID with ESC/BEL (the MTA passes them) reaches the operator's terminal raw, under
``forumsync import-mbox`` and ``forumsync worker``."""
from __future__ import annotations

from email.message import EmailMessage

from tests.fixtures.inbound import run_cli, write_settings_file

OSC_TITLE = "\x1b]52;c;cm0gLXJmIH4K\x07"  # OSC 52: writes the clipboard


def _deep_html_mail() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Pirate <pirate@evil.example>", "club@listes.example.org", "Profond"
    msg["Message-ID"] = "<placeholder@evil.example>"
    msg.set_content("<div>" * 5000 + "fond" + "</div>" * 5000, subtype="html")
    raw = msg.as_bytes()
    return raw.replace(b"<placeholder@evil.example>", f"<x{OSC_TITLE}\x1b[2J@evil.example>".encode())


def test_import_mbox_log_lines_carry_no_raw_control_characters(pipe, tmp_path):
    archive = tmp_path / "archive.mbox"
    archive.write_bytes(b"From pirate@evil.example Mon Mar  2 09:30:00 2026\n" + _deep_html_mail() + b"\n")
    path = write_settings_file(tmp_path, pipe.ctx.settings)
    done = run_cli(path, "import-mbox", "--no-progress", archive)
    err = done.stderr.decode("utf-8", "replace")
    assert "en quarantaine : 1" in done.stdout.decode(), (done.stdout, err)
    # finished, one message quarantined: 65, said in French (51st pass)
    assert done.returncode == 65 and "mais 1 message en quarantaine" in err, err[-600:]
    assert "\x1b" not in err and "\x07" not in err, err[-600:]
