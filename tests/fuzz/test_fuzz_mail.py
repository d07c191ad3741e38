"""Hostile mail: hypothesis builds and mutates emails (broken MIME, wrong charsets, enormous
headers, deep nesting, NULs, invalid dates, circular References), and every message of the
shared corpus is mutated. Nothing crashes: each message is refused before storage with a
French reason, or ends published, dropped or quarantined with a reason that is not a bug
(« erreur inattendue » is what the runner records for an exception no stage expected)."""
from __future__ import annotations

import random
import zlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from forumsync.inbound.ingest import Refused, check_mime_nesting, check_size, ingest, parse_headers
from forumsync.inbound.mbox import iter_mbox, open_mbox
from forumsync.mail import parse_bytes
from forumsync.pipeline import autoreply, bounce, loop, parse, route, trim
from forumsync.pipeline.errors import StageStop
from forumsync.pipeline.runner import process_one
from tests.conftest import real_data
from tests.fixtures.pipeline import make_pipe

# Bulk import: the forum's admin API limit raised as an operator raises
# DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE (Discourse's default, 60/min, is the fixture's).
pytestmark = pytest.mark.admin_api_limit(6000)

CORPUS_FILES = ("cocci-1k.mbox.gz", "usrp-users-dev2k.mbox.gz")
FINAL = {"published", "dropped", "quarantined"}
CRASH = "erreur inattendue"
FIGURES: Counter = Counter()

# ---------------------------------------------------------------- strategies
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "x-inconnu", "utf-7", "utf-16", "gb2312",
            "koi8-r", "", "utf-8\x00", "../../etc/passwd", "iso-2022-jp", "unicode-1-1-utf-7"]
TYPES = ["text/plain", "text/html", "multipart/mixed", "multipart/alternative", "multipart/related",
         "message/rfc822", "multipart/report", "application/octet-stream", "image/png",
         "text/x-inconnu", "multipart/", "/", "text/plain; format=flowed; delsp=yes"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "b64??"]
DATES = ["Mon, 2 Mar 2026 09:30:00 +0100", "n'importe quoi", "Fri, 31 Feb 2026 25:61:61 +9999",
         "0", "Thu, 1 Jan 1970 00:00:00 +0000", "Sat, 1 Jan 9999 00:00:00 -2359", "",
         "Mon, 2 Mar 2026 09:30:00 +0100 (CET) (CET) (CET)" * 50]

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
nasty = st.one_of(texts, st.sampled_from(["\x00", "\r\n", "\n\n", "=?utf-8?b?////?=",
                                          "=?x-inconnu?q?caf=E9?=", "<script>alert(1)</script>",
                                          "<img src=x onerror=alert(1)>", "\u202e", "\ufeff"]))
header_names = st.sampled_from(["Subject", "From", "To", "Cc", "Reply-To", "Date", "Message-ID",
                                "In-Reply-To", "References", "Content-Type", "X-Original-From",
                                "Auto-Submitted", "Precedence", "Sender", "X-Loop", "Delivered-To"])


@st.composite
def mime_part(draw, depth=0):
    ctype = draw(st.sampled_from(TYPES))
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    headers = [f"Content-Type: {ctype}; charset=\"{charset}\"; boundary=\"b{depth}\"",
               f"Content-Transfer-Encoding: {encoding}"]
    if draw(st.booleans()):
        name = draw(st.sampled_from(["a.pdf", "=?utf-8?q?r=C3=A9sum=C3=A9.txt?=", "../../x.exe",
                                     "x" * 300, "image.png", "\x00.txt"]))
        headers.append(f"Content-Disposition: attachment; filename=\"{name}\"")
        headers.append(f"Content-ID: <{draw(st.text(max_size=20))}>")
    if ctype.startswith("multipart") and depth < 12:
        children = draw(st.lists(mime_part(depth=depth + 1), max_size=3))
        closing = "" if draw(st.booleans()) else f"\n--b{depth}--\n"  # sometimes never closed
        body = "".join(f"\n--b{depth}\n{child}" for child in children) + closing
    else:
        body = draw(nasty)
        if charset in ("iso-8859-1", "windows-1252"):
            body = body.encode("utf-8", "surrogatepass").decode("latin-1")
    return "\n".join(headers) + "\n\n" + body


def deep_nesting(depth: int) -> str:
    head = "".join(f"Content-Type: multipart/mixed; boundary=\"n{i}\"\n\n--n{i}\n" for i in range(depth))
    return head + "Content-Type: text/plain\n\nau fond du puits\n"


@st.composite
def emails(draw, index=[0]):
    index[0] += 1
    own = f"fuzz-{index[0]}-{draw(st.integers(0, 10**9))}@fuzz.example.org"
    headers = [f"Message-ID: <{own}>"] if draw(st.integers(0, 9)) else []
    headers += [f"From: {draw(nasty)} <{draw(st.sampled_from(['a@b.fr', 'x', '', '<<>>', 'é@é']))}>",
                "To: club@listes.example.org",
                f"Subject: {draw(nasty)}",
                f"Date: {draw(st.sampled_from(DATES))}"]
    refs = draw(st.sampled_from(["", f"<{own}>", f"<{own}> <{own}>",
                                 "<a@x> <b@x> <a@x>", "<" * 500, "<discourse/post/abc@127.0.0.1>",
                                 "<discourse/post/999999999999999999999@127.0.0.1>"]))
    if refs:
        headers += [f"In-Reply-To: {refs.split(' ')[0]}", f"References: {refs}"]
    for name, value in draw(st.lists(st.tuples(header_names, nasty), max_size=6)):
        headers.append(f"{name}: {value}")
    if draw(st.integers(0, 9)) == 0:
        headers.append("X-Enorme: " + "A" * draw(st.integers(1000, 200_000)))
    if draw(st.integers(0, 9)) == 0:
        headers += [f"X-N{i}: {i}" for i in range(draw(st.integers(10, 1200)))]
    choice = draw(st.integers(0, 9))
    if choice == 0:
        body = deep_nesting(draw(st.integers(20, 3000)))
    else:
        body = draw(mime_part())
    raw = ("\n".join(h.replace("\n", " ").replace("\r", " ") if draw(st.integers(0, 5)) else h
                     for h in headers) + "\n" + body).encode("utf-8", "surrogatepass")
    return mutate(raw, draw(st.randoms(use_true_random=False)), draw(st.integers(0, 3)))


def mutate(raw: bytes, rng: random.Random, times: int) -> bytes:
    """Byte-level mutations: flips, NULs, truncation, duplicated or dropped lines."""
    data = bytearray(raw)
    for _ in range(times):
        if not data:
            break
        kind = rng.randrange(7)
        at = rng.randrange(len(data))
        if kind == 0:
            data[at] = rng.randrange(256)
        elif kind == 1:
            data[at:at] = b"\x00" * rng.randint(1, 4)
        elif kind == 2:
            del data[rng.randrange(len(data) // 2 + 1, len(data) + 1):]
        elif kind == 3:
            lines = bytes(data).split(b"\n")
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i] * rng.randint(1, 3))
            data = bytearray(b"\n".join(lines))
        elif kind == 4:
            lines = bytes(data).split(b"\n")
            del lines[rng.randrange(len(lines))]
            data = bytearray(b"\n".join(lines))
        elif kind == 5:
            data[at:at] = rng.choice([b"\r", b"\r\n\r\n", b"=?utf-8?b?", b"--", b"\xff\xfe",
                                      b"Content-Type: multipart/mixed; boundary=\"\"\n"])
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    return bytes(data)


# ---------------------------------------------------------------- checks
def run_full(ctx, raw: bytes, label: str) -> str:
    """ingest + the whole pipeline into the local forum; returns the outcome."""
    FIGURES[f"{label}:cases"] += 1
    try:
        result = ingest(ctx, raw, "http")
    except Refused as exc:
        assert exc.message_fr and exc.code
        FIGURES[f"{label}:refused"] += 1
        return "refused"
    if result.duplicate:
        FIGURES[f"{label}:duplicate"] += 1
        return "duplicate"
    state = process_one(ctx, result.inbox_id)
    from forumsync.models import InboxMessage

    with ctx.db.session() as s:
        row = s.get(InboxMessage, result.inbox_id)
        state, reason = row.state, row.reason
    assert state in FINAL, (state, reason)
    assert reason and reason.strip(), f"{state} sans raison"
    assert CRASH not in reason, f"plantage : {reason[:500]}\n{raw[:2000]!r}"
    FIGURES[f"{label}:{state}"] += 1
    return state


def run_stages(ctx, raw: bytes) -> str:
    """The pre-storage checks and the stages that read the message (no forum, no database):
    they must end normally or with a Drop/Quarantine carrying a reason."""
    try:
        check_size(ctx.settings, len(raw))
        parse_headers(raw)
        check_mime_nesting(raw)
    except Refused as exc:
        assert exc.message_fr
        return "refused"
    msg = parse_bytes(raw)
    msgdata = dict(inbox_id=0, channel="mbox", message_id="x@y", meta={}, attempt=1, writes=[],
                   batch={}, received_at=None, topic_id=None)
    try:
        for stage in (loop, autoreply, bounce, parse, trim, route):
            stage.process(ctx, msg, msgdata)
    except StageStop as exc:
        assert exc.reason and exc.reason.strip()
        return type(exc).__name__.lower()
    assert msgdata.get("title") and msgdata.get("theme")
    return "ok"


# ---------------------------------------------------------------- tests
# The crashes fuzzing found, kept as fixed examples: a NUL in a charset label (ValueError
# from codecs.lookup), and a Discourse Message-ID with an id too big for the forum (the
# forum's 500 made the message retry forever).
NUL_CHARSET = (b"From: <a@b.fr>\nTo: club@listes.example.org\nSubject: x\nDate: Mon, 2 Mar 2026 "
               b"09:30:00 +0100\nContent-Type: text/plain; charset=\"utf-8\x00\"\n\nbonjour\n")
# CI rehearsal, 7 December 2026: a message/rfc822 part whose charset holds a NUL, 8-bit bytes in it.
NUL_CHARSET_FORWARD = (b"From: <a@b.fr>\nTo: club@listes.example.org\nSubject: x\nDate: Mon, 2 Mar 2026 "
                       b"09:30:00 +0100\nContent-Type: message/rfc822; charset=\"utf-8\x00\"\n"
                       b"Content-Transfer-Encoding: base64\n\n\xc2\x80")
HUGE_POST_ID = (b"From: <a@b.fr>\nTo: club@listes.example.org\nSubject: Re: x\nMessage-ID: <huge@x>\n"
                b"In-Reply-To: <discourse/post/999999999999999999999@127.0.0.1>\n\nbonjour\n")


@given(raw=emails())
@example(raw=NUL_CHARSET)
@example(raw=NUL_CHARSET_FORWARD)
@example(raw=HUGE_POST_ID)
@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@pytest.mark.slow
@pytest.mark.timeout(900)  # 300 mails through the whole pipeline and the forum, on 2 shared cores
def test_built_and_mutated_emails_never_crash_the_pipeline(raw, fuzz_pipe):
    run_full(fuzz_pipe, raw, "hypothesis")


@pytest.mark.slow
def test_every_corpus_message_mutated_goes_through_the_stages(fuzz_pipe):
    """All messages of both corpus files, each with one seeded mutation, through the reading
    stages; a seeded sample of them also through ingest + the whole pipeline into the forum."""
    rng = random.Random(8)
    outcomes = Counter()
    sample = []
    for path in (real_data("corpus", name) for name in CORPUS_FILES):
        with open_mbox(path) as stream:
            for message in iter_mbox(stream, max_bytes=fuzz_pipe.settings.MAX_MESSAGE_BYTES):
                if message.raw is None:
                    continue
                seed = zlib.crc32(message.raw[:4096]) ^ rng.randrange(1 << 30)
                mutated = mutate(message.raw, random.Random(seed), 1 + seed % 3)
                outcomes[run_stages(fuzz_pipe, mutated)] += 1
                if rng.random() < 0.03:
                    sample.append(mutated)
    full = Counter(run_full(fuzz_pipe, raw, "corpus") for raw in sample)
    total = sum(outcomes.values())
    print(f"\n[figures] corpus muté : {total} messages par les étapes {dict(outcomes)} ; "
          f"{len(sample)} par tout le pipeline {dict(full)}")
    assert total >= 2900
    assert full["published"] >= len(sample) // 3


@pytest.fixture(scope="module", autouse=True)
def fuzz_figures():
    """Print the counts of the run (cases run, outcomes) once the module is done (-s)."""
    yield
    print(f"\n[figures] fuzz : {dict(sorted(FIGURES.items()))}")


@pytest.fixture(scope="module")
def fuzz_pipe(tmp_path_factory):
    """One local forum and SQLite database for all the examples of this module."""
    from tests.fixtures.localforum import RunningForum

    tmp = tmp_path_factory.mktemp("fuzz")
    forum = RunningForum(tmp, rate_limit=6000)  # the module's admin_api_limit: a module fixture
    try:
        ctx, pipe = make_pipe(tmp, f"sqlite:///{tmp / 'forumsync.sqlite3'}", forum)
        pipe.provision()
        yield ctx
        ctx.close()
    finally:
        forum.release()
