"""An SMTP server that files every message it receives into a Maildir (the demo's "list").

What forumsync would send to the mailing list lands here, where any mail client (mutt -f,
Thunderbird's "Maildir" account) or a plain `ls` can show it.
"""
from __future__ import annotations

import mailbox
from pathlib import Path

from aiosmtpd.controller import Controller

from ..inbound.lmtp import smtp_text


class MaildirHandler:
    def __init__(self, path: Path):
        self.maildir = mailbox.Maildir(str(path), create=True)
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self.maildir.add(mailbox.MaildirMessage(content))
        self.count += 1
        return smtp_text("250 2.0.0 Message déposé dans le Maildir", envelope.smtp_utf8)


def start_maildir_sink(path: Path, host: str, port: int) -> Controller:
    # SMTPUTF8 announced: replies keep their accents for clients that use it (see inbound/lmtp.py)
    controller = Controller(MaildirHandler(path), hostname=host, port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller
