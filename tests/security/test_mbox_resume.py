"""Red-team pass 14: ``import-mbox`` resumes at the cursor's offset, the end of the last
message read, checking only that the *previous* message's ``From`` line is still in place.
When that last message was cut short (an archive still being written or copied, a
download cut off) and the file is later completed, the offset falls inside it: ``iter_mbox``
skips every line up to the next ``From``, silently. The truncated copy stays the only one
stored; the rest of the message is lost without any trace (nothing refused, nothing held)."""
from __future__ import annotations

from sqlalchemy import select

from forumsync.inbound.mbox import import_file
from forumsync.models.inbox_raw import InboxRaw
from tests.fixtures.pipeline import make_mail


def _entry(raw: bytes) -> bytes:
    return b"From someone@example.org Mon Mar  2 09:30:00 2026\n" + raw + b"\n"


def test_a_completed_archive_does_not_lose_the_end_of_its_last_message(pipe, tmp_path):
    a = make_mail("Premier", "Premier message.\n" * 80, message_id="<a@x.fr>")
    b = make_mail("Second", "Début du second message.\n" + "ligne\n" * 50 + "FIN IMPORTANTE DU SECOND\n",
                  message_id="<b@x.fr>")
    c = make_mail("Troisième", "Troisième message.\n", message_id="<c@x.fr>")
    archive = tmp_path / "liste.mbox"
    cut = b[: b.index(b"ligne\n" * 20)]  # the copy stopped in the middle of the second message
    archive.write_bytes(_entry(a) + b"From someone@example.org Mon Mar  2 09:30:00 2026\n" + cut)
    first = import_file(pipe.ctx, archive)
    assert (first.read, first.stored) == (2, 2)

    archive.write_bytes(_entry(a) + _entry(b) + _entry(c))  # the whole archive, later
    second = import_file(pipe.ctx, archive)

    with pipe.ctx.db.session() as session:
        raws = session.scalars(select(InboxRaw.raw)).all()
    texts = b"\n".join(bytes(r) for r in raws)
    assert b"<c@x.fr>" in texts, second
    assert b"FIN IMPORTANTE DU SECOND" in texts, (
        f"second run: read {second.read}, stored {second.stored}, refused {second.refused}: "
        "the end of the second message was skipped without a trace")
