"""Robustness of the message-understanding stages (loop → route) on every message of the
shared corpus: no exception other than Drop/Quarantine, nothing printed, and fast.
(tests/pipeline/test_corpus.py runs the whole pipeline into the local forum.)"""
import gzip
import re
import time

import pytest

from forumsync.mail import parse_bytes
from forumsync.mail.sender import list_addresses
from forumsync.pipeline import autoreply, bounce, loop, parse, route, trim
from forumsync.pipeline.errors import Drop, Quarantine
from tests.conftest import real_data

STAGES = (loop, autoreply, bounce, parse, trim, route)
_SEPARATOR = re.compile(rb"(?m)^From .*\n")
_UNQUOTE = re.compile(rb"(?m)^>(>*From )")


def read_mboxrd(path):
    """Raw messages of a gzip mboxrd file (one ``>`` removed from ``>+From `` lines)."""
    data = gzip.open(path).read()
    for chunk in _SEPARATOR.split(data):
        if chunk.strip():
            yield _UNQUOTE.sub(rb"\1", chunk)


@pytest.mark.slow
@pytest.mark.parametrize("name, count", [("cocci-1k", 1000), ("usrp-users-dev2k", 1992)])
def test_corpus_goes_through_the_stages(name, count, mail_ctx, capsys):
    outcomes = {"ok": 0, "drop": 0, "quarantine": 0}
    started = time.process_time()  # CPU time: the machine is shared
    for raw in read_mboxrd(real_data("corpus", f"{name}.mbox.gz")):
        msg = parse_bytes(raw)
        msgdata = {"message_id": "", "received_at": None}
        try:
            for stage in STAGES:
                stage.process(mail_ctx, msg, msgdata)
        except (Drop, Quarantine) as exc:
            assert exc.reason.strip()
            outcomes["drop" if isinstance(exc, Drop) else "quarantine"] += 1
            continue
        outcomes["ok"] += 1
        assert msgdata["title"] and msgdata["theme"] and isinstance(msgdata["body"], str)
        assert msgdata["from_email"] and msgdata["from_email"] not in list_addresses(msg)  # DMARC undone
        assert "\ufffd" not in msgdata["title"]
    elapsed = time.process_time() - started
    assert sum(outcomes.values()) == count
    assert outcomes["ok"] >= 0.95 * count, outcomes  # list mail is people's mail
    assert elapsed < 45, f"{elapsed:.1f} s"
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
