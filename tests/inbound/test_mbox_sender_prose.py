"""Red team, 36th pass: the 35th pass's sender rule (« From » then an address splits even
after a line of text) cut a message at a line of prose that begins with an address —
« From marie@meyzieu.fr we got the answer » — its tail refused as no mail, never stored.
After the sender, an envelope line has a date (a digit, a day or month name) or nothing."""
from __future__ import annotations

import io

import pytest

from forumsync.inbound.mbox import iter_mbox


def _mbox(line: bytes, nl: bytes = b"\n") -> bytes:
    return (b"From alice@x.org Mon Mar  2 10:00:00 2026" + nl + b"From: alice@x.org" + nl
            + b"Message-ID: <a@x.org>" + nl + b"Subject: un" + nl + nl + b"Bonjour," + nl
            + line + nl + b"FIN IMPORTANTE" + nl + nl)


@pytest.mark.parametrize("line", [
    b"From marie@meyzieu.fr we got the answer yesterday.",
    b"From marie@meyzieu.fr: thanks, it works.",
    b"From <marie@meyzieu.fr> to the whole list.",
    b"From - to + the values change.",
])
@pytest.mark.parametrize("nl", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_a_line_of_prose_beginning_with_an_address_does_not_split(line, nl):
    messages = list(iter_mbox(io.BytesIO(_mbox(line, nl))))
    assert len(messages) == 1, [m.raw for m in messages]
    assert messages[0].raw.rstrip().endswith(b"FIN IMPORTANTE")
