"""The mbox channel: import a list's history, streaming, resumable and idempotent.

``mailbox.mbox`` cannot read a gzip stream and indexes the whole file first, so messages are
split here, line by line, from any binary file object (plain or gzip): memory stays bounded by
the largest message. A cursor per file (StateValue) records the offset of the next message and
the ``From `` line before it, committed every batch: an interrupted import resumes there, and a
file that changed under the cursor is read again from the start (ingest skips duplicates).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from ..models import get_state, set_state
from .ingest import Refused, ingest
from .mbox_errors import READ_ERRORS

FORMATS = ("auto", "mboxrd", "mbox")
_RD_ESCAPE = re.compile(rb"^>(>*From )")
_O_ESCAPE = re.compile(rb"^>(From )")


@dataclass
class MboxMessage:
    offset: int          # byte offset of its "From " line in the (uncompressed) stream
    end: int             # offset just after it: where the next message starts
    from_line: str       # the separator line, without "From " and the newline
    raw: bytes | None    # None when the message exceeds the size limit (not kept in memory)
    size: int


def open_mbox(path: Path) -> BinaryIO:
    """A binary reader on PATH, decompressing gzip transparently (by magic number)."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def compressed_position(stream: BinaryIO) -> int:
    """Position in the file on disk (for a progress bar over a gzip file's real size)."""
    inner = getattr(stream, "fileobj", None)
    return inner.tell() if inner is not None else stream.tell()


# A separator line right after a non-empty one (RFC 4155 ends each message with an empty line,
# and an unescaped « From the start we said so. » inside a paragraph cut the message in two, its
# tail refused as no mail: the intake review, 34th pass): « From sender date » with an asctime
# date (the sender may hold spaces: pipermail writes « foo at example.org »), or a first word
# that is a sender, not prose: an address, « - » (Thunderbird), MAILER-DAEMON (35th pass: an
# ISO or RFC 2822 date, or none, must still split).
_ENVELOPE = re.compile(rb"From .*\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
                       rb" +\d{1,2} +\d{1,2}:\d\d")
# After the sender, a date (a digit, a day or month name) or nothing: « From marie@meyzieu.fr
# we got the answer » in a paragraph is prose, and cut there its tail was refused as no mail
# (red team, 36th pass).
_SENDER = re.compile(rb"From (?:[^\s@]*@[^\s@]+|-|MAILER-DAEMON)"
                     rb"(?:[ \t]+(?:\d|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct"
                     rb"|Nov|Dec)\b)|[ \t]*(?:\r?\n|$))")


def starts_message(line: bytes, after_blank: bool) -> bool:
    """Whether LINE opens a message: a « From » line after an empty line (or at the start), or
    one that reads as an envelope line wherever it stands (``iter_mbox``, ``_resume_offset``)."""
    return line.startswith(b"From ") and (after_blank or bool(_SENDER.match(line) or _ENVELOPE.match(line)))


def iter_mbox(stream: BinaryIO, start: int = 0, fmt: str = "auto",
              max_bytes: int | None = None) -> Iterator[MboxMessage]:
    """Yield the messages of STREAM from byte offset START (which must be a ``From `` line).

    ``mboxrd`` (and ``auto``) strips one ``>`` from ``>+From `` lines; ``mbox`` (mboxo) only from
    ``>From ``. A message over MAX_BYTES is yielded with ``raw=None`` instead of being held.
    """
    if fmt not in FORMATS:
        raise ValueError(fmt)
    unescape = _O_ESCAPE if fmt == "mbox" else _RD_ESCAPE
    if start:
        stream.seek(start)
    position = start
    current: MboxMessage | None = None
    lines: list[bytes] = []

    def finish(end: int) -> MboxMessage:
        current.end = end
        if current.raw is not None:
            body = b"".join(lines)
            if body.endswith(b"\r\n\r\n"):  # the blank line written before the next separator
                body = body[:-2]
            elif body.endswith(b"\n\n"):
                body = body[:-1]
            current.raw = body
        return current

    after_blank = True  # the file's start, or the line before was empty
    for line in iter(stream.readline, b""):
        length = len(line)
        if starts_message(line, after_blank):
            if current is not None:
                yield finish(position)
            current = MboxMessage(position, position, line[5:].decode("utf-8", "replace").strip(), b"", 0)
            lines = []
        elif current is not None:
            if line.startswith(b">"):
                line = unescape.sub(rb"\1", line, count=1)
            current.size += len(line)
            if current.raw is not None:
                if max_bytes is not None and current.size > max_bytes + 2:
                    lines, current.raw = [], None  # too big: stop holding it, keep counting
                else:
                    lines.append(line)
        position += length
        after_blank = line in (b"\n", b"\r\n")
    if current is not None:
        yield finish(position)


def envelope_date(from_line: str) -> str | None:
    """The arrival date of a ``From sender date`` line, ISO 8601 UTC, or None."""
    from dateutil import parser

    _, _, text = from_line.partition(" ")
    if not text.strip():
        return None
    try:
        moment = parser.parse(text, fuzzy=True)
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


# ---------------------------------------------------------------- cursor
def cursor_key(path: Path) -> str:
    """Identity of an archive: its real path and its first KiB (appending keeps the key)."""
    real = os.path.realpath(path)
    with open(path, "rb") as f:
        head = f.read(1024)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape") + b"\0" + head).hexdigest()
    return f"mbox:{digest[:40]}"


@dataclass
class FileReport:
    path: Path
    read: int = 0            # messages read this run
    stored: int = 0
    duplicates: int = 0
    refused: dict = field(default_factory=dict)   # French reason -> count
    already: int = 0         # messages imported by earlier runs (cursor)
    restarted: bool = False  # cursor found but the file changed: read again from the start
    complete: bool = False   # reached the end of the file
    inbox_ids: list = field(default_factory=list)   # every row read (new and duplicates)
    new_ids: list = field(default_factory=list)     # rows stored by this run


def import_file(ctx, path: Path, *, fmt: str = "auto", batch: int = 100, limit: int | None = None,
                after_batch: Callable[[FileReport], None] | None = None,
                on_message: Callable[[FileReport, int], None] | None = None) -> FileReport:
    """Ingest the messages of PATH after its cursor; commit the cursor every BATCH messages.

    AFTER_BATCH runs once a batch is stored and its cursor committed (the importer drains the
    pipeline there); ON_MESSAGE gets the position in the file on disk (progress bar).
    """
    path = Path(path)
    report = FileReport(path)
    key = cursor_key(path)
    stat = path.stat()
    with ctx.db.session() as session:
        cursor = get_state(session, key) or {}
    with open_mbox(path) as stream:
        start, report.already = _resume_offset(stream, cursor)
        if cursor and start == 0 and cursor.get("offset"):
            report.restarted = True
        count = report.already
        pending = 0
        last = None
        for message in iter_mbox(stream, start, fmt, ctx.settings.MAX_MESSAGE_BYTES):
            if limit is not None and report.read >= limit:
                break
            report.read += 1
            _ingest_one(ctx, message, report)
            last = message
            count += 1
            pending += 1
            if on_message:
                on_message(report, compressed_position(stream))
            if pending >= batch:
                _save_cursor(ctx, key, path, stat, last, count)
                pending = 0
                if after_batch:
                    after_batch(report)
        else:
            report.complete = True
        if last is not None and pending:
            _save_cursor(ctx, key, path, stat, last, count)
            if after_batch:
                after_batch(report)
    return report


def _ingest_one(ctx, message: MboxMessage, report: FileReport) -> None:
    meta = {"mbox": str(report.path), "offset": message.offset, "from_line": message.from_line,
            "envelope_date": envelope_date(message.from_line)}
    try:
        if message.raw is None:
            from .ingest import too_big_message

            raise Refused("too_big", too_big_message(ctx.settings))
        result = ingest(ctx, message.raw, "mbox", meta)
    except Refused as refused:
        report.refused[refused.message_fr] = report.refused.get(refused.message_fr, 0) + 1
        return
    report.inbox_ids.append(result.inbox_id)
    if result.duplicate:
        report.duplicates += 1
    else:
        report.stored += 1
        report.new_ids.append(result.inbox_id)


def _from_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _save_cursor(ctx, key: str, path: Path, stat, last: MboxMessage, count: int) -> None:
    value = {"path": str(path), "size": stat.st_size, "mtime": stat.st_mtime, "offset": last.end,
             "last_offset": last.offset, "last_from": _from_hash(last.from_line), "count": count}
    with ctx.db.session() as session:
        set_state(session, key, value)


def _resume_offset(stream: BinaryIO, cursor: dict) -> tuple[int, int]:
    """(where to resume, how many messages before it): the cursor's offset if the message
    before it is still where the cursor saw it and the offset still starts a message (or ends
    the file); that last message again when the offset now falls inside it (an archive cut
    short, completed since: its end must not be skipped — its whole copy is stored next to
    the cut one, and held, red-team pass 14); else the beginning."""
    if not cursor.get("offset"):
        return 0, 0
    try:
        stream.seek(cursor["last_offset"])
        line = stream.readline()
        back = max(0, cursor["offset"] - 3)
        stream.seek(back)
        before = stream.read(cursor["offset"] - back)  # does an empty line end there?
        after = stream.readline()
    except READ_ERRORS:  # a damaged archive: read from the start, where its error is said
        line = after = before = b""
    stream.seek(0)
    if not (line.startswith(b"From ") and _from_hash(line[5:].decode("utf-8", "replace").strip()) == cursor["last_from"]):
        return 0, 0
    after_blank = before.endswith(b"\n\n") or before.endswith(b"\n\r\n")
    if after == b"" or starts_message(after, after_blank):  # where iter_mbox would split
        return cursor["offset"], cursor.get("count", 0)
    return cursor["last_offset"], max(cursor.get("count", 0) - 1, 0)
