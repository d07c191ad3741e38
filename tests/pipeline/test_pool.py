"""The CPU-bound stages run ahead in a process pool (forumsync.pipeline.prepare, ahead_pool): what is stored
and published is what the main process alone stores and publishes; the main side's headers-only
message reads the same headers (the pool's parse, sent back); whatever the pool cannot do exactly is done in the main process."""
from __future__ import annotations

import pickle
import sys
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone

import pytest

from forumsync.inbound.mbox import import_file
from forumsync.mail import parse_bytes
from forumsync.pipeline import ahead_pool, prepare, trim
from forumsync.pipeline.errors import Drop
from tests.fixtures.database import make_settings
from tests.fixtures.pipeline import later, make_mail
from tests.pipeline.test_batch_import import DEMO_MBOX, drain, forum_posts, pipe_on, stored


@pytest.fixture(scope="module", autouse=True)
def _stop_pools():
    yield
    ahead_pool.shutdown()


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}")


def import_with_and_without_pool(tmp_path, sqlite_template, make_localforum, threshold):
    pipes = {}
    for name, size in (("alone", 0), ("pool", 2)):
        pipe = pipe_on(tmp_path, name, sqlite_template, make_localforum(), PIPELINE_POOL_SIZE=size)
        before = dict(prepare.STATS)
        import_file(pipe.ctx, DEMO_MBOX, batch=100,
                    after_batch=lambda _r, p=pipe: drain(p, threshold))
        drain(pipe, threshold)
        pipe.prepared = {k: prepare.STATS[k] - before.get(k, 0) for k in ("pool", "inline", "stolen")}
        pipes[name] = pipe
    return pipes["alone"], pipes["pool"]


@pytest.mark.parametrize("threshold", [1, 0], ids=["batched", "one-by-one"])
def test_the_demo_mbox_with_the_pool_stores_and_publishes_what_the_main_process_does(
        tmp_path, sqlite_template, make_localforum, threshold):
    alone, pooled = import_with_and_without_pool(tmp_path, sqlite_template, make_localforum, threshold)
    assert alone.prepared["pool"] == 0
    assert pooled.prepared["pool"] >= 25, pooled.prepared  # every row of the demo went through it
    assert pooled.prepared["inline"] == 0, pooled.prepared  # (some maybe computed by the main side)
    expected = stored(alone)
    assert len(expected["inbox"]) == 25 and len(expected["post_link"]) >= 20
    assert {row[1] for row in expected["inbox"]} >= {"published", "dropped"}
    assert stored(pooled) == expected
    topic_ids = [row[0] for row in expected["topic_link"]]
    assert forum_posts(pooled.localforum, topic_ids) == forum_posts(alone.localforum, topic_ids)


def test_drops_and_quarantines_from_the_pool_keep_their_reasons(tmp_path, sqlite_template,
                                                               make_localforum):
    """Auto-replies, bounces and echoes (``Drop`` raised in a pool process, re-raised by the
    main side) end as without the pool."""
    mails = [make_mail(subject=f"Question {n}", message_id=f"<q{n}@meyzieu.fr>", date=later(hours=n))
             for n in range(8)]
    mails.append(make_mail(subject="Réponse automatique : absent", message_id="<a1@lyon.fr>",
                           extra_headers={"Auto-Submitted": "auto-replied"}))
    mails.append(make_mail(subject="Undelivered Mail Returned to Sender", message_id="<b1@lyon.fr>",
                           sender="MAILER-DAEMON@lyon.fr"))
    mails.append(make_mail(subject="Écho", message_id="<e1@lyon.fr>", extra_headers={"X-Forumsync": "1"}))
    results = {}
    for name, size in (("alone", 0), ("pool", 2)):
        pipe = pipe_on(tmp_path, name, sqlite_template, make_localforum(), PIPELINE_POOL_SIZE=size)
        for raw in mails:
            pipe.feed(raw)
        before = prepare.STATS["pool"]
        drain(pipe, 1)
        results[name] = (stored(pipe), prepare.STATS["pool"] - before)
    (alone, _), (pooled, used) = results["alone"], results["pool"]
    assert used >= 8
    assert pooled == alone
    reasons = {row[0]: (row[1], row[2]) for row in alone["inbox"]}
    assert reasons["a1@lyon.fr"][0] == reasons["b1@lyon.fr"][0] == reasons["e1@lyon.fr"][0] == "dropped"


HEADERS = (b"From: =?utf-8?q?Fran=C3=A7oise?= <f@meyzieu.fr>\nTo: club@listes.example.org\n"
           b"Subject: =?iso-8859-1?q?d=E9j=E0?=\n  suite\nMessage-ID: <h1@meyzieu.fr>\n"
           b"Authentication-Results: mx.example.org; dkim=pass header.d=meyzieu.fr\n")


@pytest.mark.parametrize("raw", [
    HEADERS + b"\nCorps\n\nFrom: pas un en-tete\n",
    HEADERS.replace(b"\n", b"\r\n") + b"\r\nCorps\r\n",
    HEADERS.replace(b"\n", b"\r") + b"\rCorps\r",
    HEADERS,  # no body, no empty line
    HEADERS + b"ceci n'est pas un en-tete\nX-Apres: oui\n\nCorps\n",
    b"From someone@example.org Tue Jan 13 08:12:00 2026\n" + HEADERS + b"\n\n",
    HEADERS + b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n--b--\n",
], ids=["lf", "crlf", "cr", "headers-only", "broken-line", "unixfrom", "multipart"])
def test_the_main_sides_message_has_the_headers_of_the_full_parse(raw, settings):
    seed = dict(inbox_id=1, channel="mbox", message_id="h1@meyzieu.fr",
                received_at=datetime.now(timezone.utc), meta={}, attempt=1)
    _keys, _checks, sent = pickle.loads(pickle.dumps(ahead_pool.run_ahead(pickle.dumps((settings, None)), seed, raw)))
    full, head = parse_bytes(raw), prepare.with_head(prepare.EmailMessage(policy=prepare.POLICY), sent)
    assert list(head.raw_items()) == list(full.raw_items())
    assert [(k, str(v)) for k, v in head.items()] == [(k, str(v)) for k, v in full.items()]
    assert head.get_unixfrom() == full.get_unixfrom()
    assert str(head["Subject"]).startswith("déjà")


class Unpicklable(Exception):
    def __init__(self, what, extra):
        super().__init__(what)
        self.extra = extra

    def __reduce__(self):
        raise TypeError("pas de pickle")


def test_an_exception_that_does_not_survive_pickling_is_run_in_the_main_process(monkeypatch, settings):
    seed = dict(inbox_id=1, channel="mbox", message_id="u@x", received_at=datetime.now(timezone.utc),
                meta={}, attempt=1)
    blob = pickle.dumps((settings, None))
    raw = make_mail(subject="Bonjour", message_id="<u@x>")
    keys, checks, _head = ahead_pool.run_ahead(blob, seed, raw)
    assert keys["subject"] == "Bonjour" and [text for text, _problems in checks] == [keys["body"].strip()]

    def boom(ctx, msg, msgdata):
        raise Unpicklable("étrange", lambda: None)

    monkeypatch.setattr(trim, "process", boom)
    assert ahead_pool.run_ahead(blob, seed, raw) == ahead_pool.INLINE

    def drop(ctx, msg, msgdata):
        raise Drop("écarté dans le pool")

    monkeypatch.setattr(trim, "process", drop)
    with pytest.raises(Drop, match="écarté dans le pool"):
        ahead_pool.run_ahead(blob, seed, raw)


def test_a_broken_pool_or_a_changed_row_runs_the_stages_in_the_main_process(settings):
    raw = make_mail(subject="[club-publik] Cantine", message_id="<k@x>")
    seed = dict(inbox_id=1, channel="mbox", message_id="k@x", received_at=None, meta={}, attempt=1)

    class Ctx:
        pass

    ctx = Ctx()
    ctx.settings = settings
    expected = dict(seed)
    prepare._inline(ctx, raw, prepare.EmailMessage(), expected)
    broken = []
    future = Future()
    future.set_exception(BrokenProcessPool("tué"))
    got, head = dict(seed), prepare.EmailMessage(policy=prepare.POLICY)
    prepare._Prepared(future, seed, raw, lambda: broken.append(1)).process(ctx, head, got)
    assert got == expected and broken == [1]
    assert list(head.raw_items()) == list(parse_bytes(raw).raw_items())  # what later stages read
    never = Future()  # never completed: the row changed, it must not be waited for
    changed, head = dict(seed, attempt=2), prepare.EmailMessage(policy=prepare.POLICY)
    prepare._Prepared(never, seed, raw, lambda: None).process(ctx, head, changed)
    assert changed == dict(expected, attempt=2)
    assert head["Message-ID"] == "<k@x>"


def test_while_the_pool_is_busy_the_main_side_runs_ahead_the_messages_it_has_not_started(
        tmp_path, sqlite_template, make_localforum):
    """Rather than wait, the main side takes back the messages no pool process has started
    (``Ahead._help``, ``future.cancel``): here the only pool process sleeps 3 s first, so the
    main side prepares most of the demo itself; what is stored and published is unchanged."""
    import time

    results = {}
    for name, size in (("alone", 0), ("busy pool", 1)):
        pipe = pipe_on(tmp_path, name, sqlite_template, make_localforum(), PIPELINE_POOL_SIZE=size)
        before = dict(prepare.STATS)
        if size:
            ahead_pool.pool(1).submit(time.sleep, 3)
        import_file(pipe.ctx, DEMO_MBOX, batch=100, after_batch=lambda _r, p=pipe: drain(p, 1))
        drain(pipe, 1)
        results[name] = (pipe, {k: prepare.STATS[k] - before.get(k, 0) for k in ("pool", "stolen", "inline")})
    (alone, _), (busy, counts) = results["alone"], results["busy pool"]
    assert counts["stolen"] >= 10, counts  # prepared by the main side while the pool slept
    assert counts["pool"] >= 25 and counts["inline"] == 0, counts  # every row went through the Ahead
    expected = stored(alone)
    assert stored(busy) == expected
    topic_ids = [row[0] for row in expected["topic_link"]]
    assert forum_posts(busy.localforum, topic_ids) == forum_posts(alone.localforum, topic_ids)


def test_a_pool_process_imports_its_stages_not_the_database_or_the_forum():
    """The forkserver preloads ``ahead_preload``: the five stages, the mail modules and
    markdown-it; not SQLAlchemy, the forum client, Flask or the other stages (a pool process
    held 70 MB of modules, 33 MB now). The main side still sees every stage, in order."""
    import subprocess
    import sys

    code = ("import sys, forumsync.pipeline.ahead_preload; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'requests', 'pydiscourse', 'flask', 'waitress', 'alembic') or m in "
            "('forumsync.models', 'forumsync.db', 'forumsync.forum', 'forumsync.pipeline.publish', "
            "'forumsync.pipeline.thread'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
    from forumsync import pipeline

    assert len(pipeline.STAGES) == 16 and pipeline.STAGES[prepare.FIRST:prepare.FIRST + 5] == ahead_pool.AHEAD


def test_the_pool_size_setting(settings):
    import os

    # One fewer than the CPUs: the main side is the last one (it runs what no pool process started).
    assert ahead_pool.pool_size(settings.replace(PIPELINE_POOL_SIZE=None)) == (os.cpu_count() or 1) - 1
    assert ahead_pool.pool_size(settings.replace(PIPELINE_POOL_SIZE=0)) == 0
    off = settings.replace(PIPELINE_POOL_SIZE=0)

    class Ctx:
        pass

    ctx = Ctx()
    ctx.settings = off
    cache: dict = {}
    assert prepare.Ahead.start(ctx, list(range(100)), cache) is None and not cache
    ctx.settings = settings.replace(PIPELINE_POOL_SIZE=2)
    assert prepare.Ahead.start(ctx, list(range(prepare.MIN_ROWS - 1)), cache) is None


def test_the_pool_checks_a_long_body_as_the_cut_the_main_side_publishes(monkeypatch):
    """A body over the forum's maximum is published cut: the pool checks that cut (as
    draft.shortened makes it for a staged sender's post, whole text sent as the first file),
    never the whole text, and the main side checks nothing more when its cut is that one."""
    from datetime import datetime, timezone

    from forumsync.pipeline import ahead_checks, draft, post_inert
    from forumsync.pipeline.attach import Attached

    body = "Une ligne de texte ordinaire, rien de plus.\r\n" * 400
    expected = ahead_checks.expected_texts({"body": body}, cut_over=5000)
    assert len(expected) == 1 and len(expected[0]) < 5000 and "\r" not in expected[0]
    assert ahead_checks.expected_texts({"body": body}) == [body.strip().replace("\r\n", "\n")]
    asked = []
    real = post_inert.live_syntax
    monkeypatch.setattr(post_inert, "live_syntax", lambda raw, *a, **k: asked.append(raw) or real(raw, *a, **k))
    msgdata = {"body": body, "message_id": "long@x.fr", "staged": True,
               "date": datetime(2026, 12, 7, tzinfo=timezone.utc)}
    composed = draft.compose(msgdata, Attached(budget=2500), cut_over=5000)
    draft.fitted(composed, msgdata, set(), list_name="Club", when=msgdata["date"], max_chars=5000,
                 full_text_url="forumsync-file:0")
    assert asked[0] == expected[0]  # the cut checked on the main side is the pool's text


def test_the_pools_post_check_is_used_only_for_its_exact_text():
    """ahead_checks: live_syntax's answer computed in a pool process is the main side's answer
    for that very text, used once; any other text is checked as before."""
    from forumsync.mail.inert import live_syntax
    from forumsync.pipeline import ahead_checks

    text = "Bonjour @marie, voir https://exemple.fr/cantine"
    checks = ahead_checks.run({"body": text + "\n"})
    assert checks == [(text, live_syntax(text, (), onebox=True))] and checks[0][1]
    assert ahead_checks.run({"body": text, "attachments": [{"filename": "a.pdf"}]}) == []
    ahead_checks.hand_over([(text, ["marque du pool"])])  # an answer we can recognise
    assert live_syntax(text + " ", (), onebox=True) != ["marque du pool"]
    assert live_syntax(text, ("https://autre/",), onebox=True) != ["marque du pool"]
    assert live_syntax(text, (), onebox=True) == ["marque du pool"]
    assert live_syntax(text, (), onebox=True) == checks[0][1]  # used once, then computed


def test_rows_go_to_the_pool_half_a_window_at_a_time_and_at_most_a_window_waits(
        tmp_path, sqlite_template, make_localforum, monkeypatch):
    """One database read per half window (not one per message), and never more than WINDOW
    prepared results waiting in the main process (their attachments are in memory)."""
    from sqlalchemy import event

    from forumsync.pipeline import runner

    monkeypatch.setattr(prepare, "WINDOW", 64)  # a window smaller than the 100 rows
    pipe = pipe_on(tmp_path, "window", sqlite_template, make_localforum(), PIPELINE_POOL_SIZE=1)
    for n in range(100):
        pipe.feed(make_mail(subject=f"Fenêtre {n}", message_id=f"<fenetre-{n}@meyzieu.fr>"))
    ids = runner.claim(pipe.ctx, "test-window", 200)
    assert len(ids) == 100
    reads = []

    def count(_conn, _cursor, statement, *_args):
        if "raw" in statement and " IN (" in statement:
            reads.append(statement)

    event.listen(pipe.ctx.db.engine, "before_cursor_execute", count)
    cache: dict = {}
    waiting = []
    try:
        ahead = prepare.Ahead.start(pipe.ctx, ids, cache)
        for inbox_id in ids:
            prepared = ahead.take(inbox_id)
            assert prepared is not None, inbox_id
            waiting.append(len(ahead.prepared))
            keys, _checks, _head = prepared.future.result()
            assert keys["subject"].startswith("Fenêtre")
    finally:
        prepare.finish(cache)
        event.remove(pipe.ctx.db.engine, "before_cursor_execute", count)
    assert max(waiting) <= prepare.WINDOW
    assert min(waiting[:100 - prepare.WINDOW]) >= prepare.WINDOW // 2 - 1  # the pool kept work
    assert len(reads) == 3  # 64 rows, then 33, then the last 3 (was 37 reads: 1 + one a message)


def test_the_window_holds_at_most_window_bytes_of_raw_mail(tmp_path, sqlite_template, make_localforum,
                                                          monkeypatch):
    """Big messages: the rows sent ahead hold at most WINDOW_BYTES of raw mail together (one
    row always goes, even bigger than that), the rows are still read in pieces, not one by
    one, and every message gets its own result."""
    from sqlalchemy import event

    from forumsync.pipeline import runner

    pipe = pipe_on(tmp_path, "octets", sqlite_template, make_localforum(), PIPELINE_POOL_SIZE=1)
    for n in range(30):
        body = f"Pièce {n}\n" + ("données " * (3000 if n != 7 else 30000))  # row 7: over the cap alone
        pipe.feed(make_mail(subject=f"Octets {n}", message_id=f"<octets-{n}@meyzieu.fr>", body=body))
    ids = runner.claim(pipe.ctx, "test-bytes", 100)
    with pipe.ctx.db.connection() as conn:
        sizes = dict(conn.execute(prepare._SIZES, {"ids": ids}).all())
    cap = 4 * sizes[ids[0]] + 100  # four ordinary rows
    assert sizes[ids[7]] > cap
    monkeypatch.setattr(prepare, "WINDOW_BYTES", cap)
    reads = []

    def count(_conn, _cursor, statement, *_args):
        if "raw" in statement and " IN (" in statement:
            reads.append(statement)

    held = []  # (bytes, rows) waiting after each time rows were sent
    submit = prepare.Ahead._submit_until

    def submit_and_record(ahead, count):
        submit(ahead, count)
        held.append((ahead.held, len(ahead.prepared)))

    monkeypatch.setattr(prepare.Ahead, "_submit_until", submit_and_record)
    event.listen(pipe.ctx.db.engine, "before_cursor_execute", count)
    cache: dict = {}
    try:
        ahead = prepare.Ahead.start(pipe.ctx, ids, cache)
        for n, inbox_id in enumerate(ids):
            prepared = ahead.take(inbox_id)
            assert prepared is not None, n
            keys, _checks, _head = prepared.future.result()
            assert keys["subject"] == f"Octets {n}"
    finally:
        prepare.finish(cache)
        event.remove(pipe.ctx.db.engine, "before_cursor_execute", count)
    assert all(nbytes <= cap or rows == 1 for nbytes, rows in held)
    assert any(nbytes > cap and rows == 1 for nbytes, rows in held)  # row 7, alone
    assert max(rows for _nbytes, rows in held) <= 4
    assert 30 // 4 <= len(reads) < 30  # in pieces: neither all at once nor one by one


def test_a_row_sent_to_the_pool_is_not_read_again_when_its_turn_comes(
        tmp_path, sqlite_template, make_localforum):
    """``runner.read_claimed`` takes the seed and raw bytes the Ahead read to send the row
    (``prepare.sent_row``): one read of the raw bytes per half window, not one more per
    message; the messages are published all the same."""
    from sqlalchemy import event

    pipe = pipe_on(tmp_path, "once", sqlite_template, make_localforum(), PIPELINE_POOL_SIZE=1)
    for n in range(40):
        pipe.feed(make_mail(subject=f"Une fois {n}", message_id=f"<une-fois-{n}@meyzieu.fr>",
                            date=later(minutes=n)))
    reads = []

    def count(_conn, _cursor, statement, *_args):
        if "inbox_raw.raw" in statement and "substr(" not in statement:  # batch_users reads a prefix
            reads.append(statement)

    event.listen(pipe.ctx.db.engine, "before_cursor_execute", count)
    try:
        drain(pipe, 1)
    finally:
        event.remove(pipe.ctx.db.engine, "before_cursor_execute", count)
    states = [row[1] for row in stored(pipe)["inbox"]]
    assert states == ["published"] * 40
    assert len(reads) == 1, reads  # the 40 rows in the Ahead's first window (was 41)


def test_pool_processes_exit_when_their_maker_is_killed(tmp_path):
    """A process killed with -9 (or by the OOM killer) never shuts its pool down: its pool
    processes notice it is gone and exit instead of waiting forever."""
    import signal
    import subprocess
    import sys

    from forumsync.pipeline.ahead_pool import _alive
    from tests.conftest import ROOT
    from tests.waiting import wait_until

    script = ("import os, signal, sys\n"
              "from forumsync.pipeline import ahead_pool\n"
              "executor = ahead_pool.pool(2)\n"
              "executor.submit(ahead_pool._warm).result(120)\n"
              "print(' '.join(map(str, executor._processes)), flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    maker = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           timeout=180)
    assert maker.returncode == -signal.SIGKILL, maker.stderr.decode()
    workers = [int(pid) for pid in maker.stdout.split()]
    assert len(workers) == 2
    wait_until(lambda: not any(_alive(pid) for pid in workers), 60,
               "la fin des processus du pool orphelins")


def test_start_soon_starts_the_pool_from_a_thread_and_nothing_when_it_is_off(settings):
    from tests.waiting import wait_until

    ahead_pool.start_soon(settings.replace(PIPELINE_POOL_SIZE=0))
    ahead_pool.start_soon(settings.replace(PIPELINE_POOL_SIZE=1))
    executor = wait_until(lambda: ahead_pool._pools.get(1), timeout=120, what="le pool d'un processus")
    assert executor.submit(ahead_pool._warm).result(timeout=120) is True
    assert 0 not in ahead_pool._pools


FORK_NOW = r"""
import multiprocessing, os, pickle, sys, threading
from multiprocessing import forkserver, resource_tracker
from forumsync.pipeline import ahead_pool
from forumsync.settings import Settings

def loaded(names):
    return sorted({m.split('.')[0] for m in sys.modules} & set(names))

def parent():
    return os.getppid()

mode = sys.argv[1]
settings = Settings({"PIPELINE_POOL_SIZE": 0 if mode == "off" else 1})
if mode == "thread":
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
print(ahead_pool.fork_now(settings))
if mode != "forked":
    print(sorted(ahead_pool._pools))
    sys.exit(0)
print(ahead_pool.fork_now(settings))   # once
import sqlalchemy, requests              # the main side's modules, after the fork
from tests.fixtures.pipeline import make_mail
executor = ahead_pool._pools[1]
print(executor.submit(parent).result(60) == os.getpid(), executor.submit(loaded, ["sqlalchemy", "requests"]).result(60))
print(forkserver._forkserver._forkserver_pid, resource_tracker._resource_tracker._pid)
seed = dict(inbox_id=1, channel="mbox", message_id="f@x", received_at=None, meta={}, attempt=1)
raw = make_mail(subject="Déjà vu : la cantine", message_id="<f@x>")
blob = pickle.dumps((settings, None))
print(executor.submit(ahead_pool.run_ahead, blob, seed, raw).result(60) == ahead_pool.run_ahead(blob, seed, raw))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="fork_now : Linux seulement (ailleurs, forkserver ou spawn)")
@pytest.mark.parametrize("mode, expected", [
    ("forked", ["True", "False", "True []", "None None", "True"]),
    ("thread", ["False", "[]"]),  # another thread: the usual forkserver, later (start_soon)
    ("off", ["False", "[]"]),     # PIPELINE_POOL_SIZE=0
])
def test_fork_now_forks_the_pool_from_a_process_without_threads_before_its_other_modules(mode, expected):
    """``import-mbox`` forks its pool first (ahead_pool.fork_now): the pool process is this
    process's child, carries neither SQLAlchemy nor the forum client (imported after), needs
    neither forkserver nor resource tracker, and answers what the main process would."""
    import subprocess

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-c", FORK_NOW, mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected


def test_each_pool_process_and_the_main_side_count_their_messages(monkeypatch, settings):
    """Free heap pages go back every ``memory.RELEASE_EVERY`` messages (memory.message_done),
    counted where messages are handled: ``run_ahead`` (a pool process) and ``read_claimed``."""
    from forumsync.pipeline import runner

    calls = []
    monkeypatch.setattr(ahead_pool, "message_done", lambda: calls.append("pool"))
    monkeypatch.setattr(runner, "message_done", lambda: calls.append("main"))
    seed = dict(inbox_id=1, channel="mbox", message_id="c@x", received_at=None, meta={}, attempt=1)
    ahead_pool.run_ahead(pickle.dumps((settings, None)), seed, make_mail(subject="Bonjour", message_id="<c@x>"))
    monkeypatch.setattr(prepare, "sent_row", lambda batch, inbox_id: (seed, b"x"))  # read ahead
    assert runner.read_claimed(None, 1, {})[0] == b"x"
    assert calls == ["pool", "main"]
