"""Running the CPU-bound stages ahead, in a process pool, while the main side waits on the forum.

The stages that need neither the database nor the forum (``AHEAD``: loop, autoreply, bounce,
parse, trim — the MIME parse, body decoding, HTML → Markdown and quote trimming, ~95 % of the
stages' CPU) run in a ``ProcessPoolExecutor`` of ``PIPELINE_POOL_SIZE`` processes (default:
one fewer than the CPUs; 0: off), up to ``WINDOW`` messages (and ``WINDOW_BYTES``) ahead of
the one the main side is publishing. The main side still runs every stage in ``STAGES``
order; in place of the ``AHEAD`` run it takes that message's result (``_Prepared``), and
rather than wait for one a pool process is on, it runs the next messages no pool process has
started (``Ahead._help``): on two CPUs, one pool process and the main side share the work. What is
stored and published is the same with or without the pool (``tests/pipeline/test_pool.py``
imports the demo mbox both ways):

- what travels to a pool process: the raw bytes, the row's starting ``msgdata`` (``SEED``
  keys: plain values) and the pickled settings (once per batch, cached by the process);
- what comes back: the ``msgdata`` keys the ``AHEAD`` stages set (plain values: strings,
  lists, dicts, bytes of the attachments, datetimes) with the check ``publish`` will make on
  the expected post text (``ahead_checks``), or the exception a stage raised
  (``Drop`` with its reason, or any other, re-raised by the main side at the same place in
  the stage order, so ``dedupe`` still runs first and ``runner.conclude`` records the same);
- the message object the later stages read (only headers: ``sender``'s Authentication-Results
  and From, ``replyto``'s recipients) is the pool's parse of the headers, sent back with the
  result (``ahead_pool.head_of``: the raw values as the parser stored them) and put in an
  empty message of the same policy (``with_head``): the main side parses nothing;
- anything the pool cannot do exactly (an exception that does not survive pickling, a seed
  that changed since it was sent, a broken pool) falls back to running ``AHEAD`` in the main
  process, as without the pool.

The pool (``ahead_pool``: its life, and ``run_ahead``, what its processes run) starts with
the first backlog of at least ``MIN_ROWS`` rows (a single mail gains nothing from it) and
lives as long as the process. This module is the main side: per claimed batch, an ``Ahead``
submits the next ``WINDOW`` rows and hands each result out once.
"""
from __future__ import annotations

import logging
import pickle
import time
from collections import Counter
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from email.message import EmailMessage

from sqlalchemy import bindparam, select

from ..mail import POLICY, parse_bytes
from ..models import InboxMessage, InboxRaw
from ..models.inbox import claimed_message_id
from . import STAGES, ahead_checks, post_limits
from .ahead_pool import AHEAD, INLINE, SEED, discard, head_of, pool, pool_size, run_ahead
from .budget import cpu_budget

log = logging.getLogger(__name__)

FIRST = STAGES.index(AHEAD[0])
assert STAGES[FIRST:FIRST + len(AHEAD)] == AHEAD, "AHEAD must be consecutive in STAGES"

MIN_ROWS = 8  # fewer claimed rows: no backlog, the stages run in the main process
# Messages submitted ahead of the one being published: enough for the pool to bank work
# while the main side waits on the forum, so that it need not take messages back when the
# batch lands (64 left it short: the main side prepared ~530 of 1,987 messages itself, against
# ~200 with 256, bench/README.md). Refilled when half of it is used, so the rows are read from
# the database 128 at a time, not one.
WINDOW = 256
# ... and at most this many bytes of raw mail among them: the prepared attachments wait in the
# main process, and a backlog of big messages must not all wait there at once (one message
# at least is always sent).
WINDOW_BYTES = 8 * 1024 * 1024
KEY = ("pipeline.prepare", "ahead")  # where an Ahead waits in the runner's per-batch dict
# Messages whose AHEAD stages came from the Ahead ("pool": computed by a pool process, or by
# the main side instead, "stolen") / fell back inline; ms the main side waited
STATS: Counter = Counter()

_inbox, _raw = InboxMessage.__table__, InboxRaw.__table__
_READ = select(_inbox.c.id, _raw.c.raw, _inbox.c.channel, _inbox.c.message_id,
               _inbox.c.received_at, _inbox.c.meta, _inbox.c.attempts, _inbox.c.interrupted) \
    .select_from(_inbox.outerjoin(_raw, _raw.c.inbox_id == _inbox.c.id)) \
    .where(_inbox.c.id.in_(bindparam("ids", expanding=True)))
_SIZES = select(_inbox.c.id, _inbox.c.size).where(_inbox.c.id.in_(bindparam("ids", expanding=True)))

def with_head(msg: EmailMessage, head) -> EmailMessage:
    """MSG (empty) given the headers and Unix From of HEAD (``ahead_pool.head_of``)."""
    headers, unixfrom = head
    for name, value in headers:
        msg.set_raw(name, value)  # stored as the parser stores them, parsed when read
    msg.set_unixfrom(unixfrom)
    return msg


class _Prepared:
    """Stands in the stage order for the AHEAD stages of one message."""

    def __init__(self, future: Future, seed: dict, raw, on_broken, helper=None, blob=None):
        self.future, self.seed, self.raw, self.on_broken = future, seed, raw, on_broken
        self.helper = helper  # runs a later message's AHEAD stages here; False: none to take
        self.blob = blob  # the pickled settings, to run it here when no pool process started it

    def process(self, ctx, msg, msgdata) -> None:
        if any(msgdata.get(key) != self.seed.get(key) for key in SEED):
            return _inline(ctx, self.raw, msg, msgdata)  # the row changed since it was sent
        if self.blob is not None and self.future.cancel():
            # No pool process has started it: rather than wait for one to, do it here.
            self.future = _run_here(self.blob, self.seed, self.raw)
            STATS["stolen"] += 1
        began, helped = time.perf_counter(), 0.0
        try:
            while self.helper is not None and not self.future.done():
                start = time.perf_counter()
                if not self.helper():
                    break
                helped += time.perf_counter() - start
            result = self.future.result()
        except BrokenProcessPool:
            self.on_broken()
            return _inline(ctx, self.raw, msg, msgdata)
        except BaseException:
            STATS["pool"] += 1  # a stage's own exception, raised where it would have been
            raise
        finally:
            STATS["waited_ms"] += round((time.perf_counter() - began - helped) * 1000)  # benchmarks
        if isinstance(result, str) and result == INLINE:
            return _inline(ctx, self.raw, msg, msgdata)
        STATS["pool"] += 1
        keys, checks, head = result
        msgdata.update(keys)  # unpickled for this row alone (take() hands each result out once)
        ahead_checks.hand_over(checks)
        with_head(msg, head)


def _inline(ctx, raw, head_msg, msgdata) -> None:
    """The AHEAD stages in this process, the pool's result being unusable."""
    STATS["inline"] += 1
    _here(ctx, raw, head_msg, msgdata)


def _here(ctx, raw, head_msg, msgdata) -> None:
    """The parse and the AHEAD stages in this process, within the message's processor-time
    budget (``budget.cpu_budget``, as in a pool process); HEAD_MSG (what the later stages
    read) gets the headers."""
    with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):
        msg = parse_bytes(raw)
        with_head(head_msg, head_of(msg))
        for stage in AHEAD:
            stage.process(ctx, msg, msgdata)


class _Here:
    """Stands in the stage order for the AHEAD stages of a row no pool prepares."""

    def __init__(self, raw):
        self.raw = raw

    def process(self, ctx, msg, msgdata) -> None:
        _here(ctx, self.raw, msg, msgdata)


def _run_here(blob: bytes, seed: dict, raw) -> Future:
    """``run_ahead`` in this process: its answer (or the exception a stage raised), as the
    pool's future would hold it."""
    future: Future = Future()
    try:
        future.set_result(run_ahead(blob, seed, raw))
    except Exception as exc:
        future.set_exception(exc)
    return future


class Ahead:
    """The AHEAD stages of claimed rows IDS, submitted to the pool up to a window ahead."""

    def __init__(self, ctx, ids: list[int], size: int):
        self.ctx, self.ids, self.size = ctx, list(ids), size
        self.executor = pool(size)
        self.blob = pickle.dumps((ctx.settings, post_limits.max_post_chars(ctx.forum)))
        self.window = WINDOW
        self.next = 0  # index in IDS of the next row to submit
        self.prepared: dict[int, _Prepared] = {}
        self.broken = False

    @classmethod
    def start(cls, ctx, ids: list[int], cache: dict) -> "Ahead | None":
        """An Ahead for a backlog (registered in the runner's per-batch CACHE), else None."""
        size = pool_size(ctx.settings)
        if size <= 0 or len(ids) < MIN_ROWS:
            return None
        try:
            ahead = cls(ctx, ids, size)
        except (OSError, RuntimeError) as exc:  # no processes for us: the stages run here
            log.warning("pool de processus indisponible, étapes dans le processus principal : %s", exc)
            return None
        cache[KEY] = ahead
        ahead._submit_until(ahead.window)
        return ahead

    def _submit_until(self, count: int) -> None:
        if self.broken:
            return
        end = min(len(self.ids), count)
        if self.next >= end:
            return
        with self.ctx.db.connection() as conn:
            chunk = self._within_bytes(conn, self.ids[self.next:end])
            self.next += len(chunk)
            if not chunk:  # the bytes waiting leave no room yet
                return
            rows = {row.id: row for row in conn.execute(_READ, {"ids": chunk})}
        for inbox_id in chunk:
            row = rows.get(inbox_id)
            if row is None or row.interrupted:  # in hand when a worker died: run alone, here
                continue
            seed = dict(inbox_id=row.id, channel=row.channel, message_id=claimed_message_id(row.message_id, row.meta),
                        received_at=row.received_at, meta=dict(row.meta or {}), attempt=row.attempts,
                        interrupted=row.interrupted)
            try:
                future = self.executor.submit(run_ahead, self.blob, seed, row.raw)
            except (BrokenProcessPool, RuntimeError):
                self._broken()
                return
            self.prepared[inbox_id] = _Prepared(future, seed, row.raw, self._broken,
                                                helper=self._help, blob=self.blob)

    @property
    def held(self) -> int:
        """Raw bytes of the rows sent and not yet taken."""
        return sum(len(prepared.raw or b"") for prepared in self.prepared.values())

    def _within_bytes(self, conn, chunk: list[int]) -> list[int]:
        """The first rows of CHUNK whose raw bytes fit in what WINDOW_BYTES leaves (the first
        one always when none waits)."""
        sizes = dict(conn.execute(_SIZES, {"ids": chunk}).all())
        room, kept = WINDOW_BYTES - self.held, 0
        for inbox_id in chunk:
            room -= sizes.get(inbox_id) or 0
            if room < 0 and (kept or self.prepared):
                break
            kept += 1
        return chunk[:kept]

    def _help(self) -> bool:
        """While the main side waits for a message a pool process is on: run here the AHEAD
        stages of the next one no pool process has started (its result waits for its turn),
        rather than leave this CPU idle. False when every message sent is started or done."""
        for prepared in self.prepared.values():  # in claim order: the soonest needed first
            if prepared.future.cancel():
                prepared.future = _run_here(self.blob, prepared.seed, prepared.raw)
                STATS["stolen"] += 1
                return True
        return False

    def _broken(self) -> None:
        if not self.broken:
            self.broken = True
            log.warning("pool de processus interrompu : étapes dans le processus principal")
            discard(self.size, self.executor)

    def take(self, inbox_id: int) -> _Prepared | None:
        try:
            position = self.ids.index(inbox_id)
        except ValueError:
            return None
        # Refilled by half windows (of messages and of bytes): one read each
        if self.next - position - 1 < self.window // 2 and self.held <= WINDOW_BYTES // 2:
            self._submit_until(position + 1 + self.window)
        # Handed over once: a claim of 500 rows must not keep every decoded attachment until
        # its end (a row run again, by the batch's fallback, runs its stages in this process).
        return self.prepared.pop(inbox_id, None)

    def close(self) -> None:
        for prepared in self.prepared.values():
            prepared.future.cancel()
        self.prepared.clear()


def sent_row(cache: dict | None, inbox_id: int) -> tuple[dict, bytes | None] | None:
    """(seed, raw bytes) of claimed row INBOX_ID as the batch's Ahead read it to send it to
    the pool, if it did and the row's stages have not started (``runner.read_claimed`` need
    not read it again); else None."""
    ahead = (cache or {}).get(KEY)
    prepared = ahead.prepared.get(inbox_id) if ahead is not None else None
    return None if prepared is None else (prepared.seed, prepared.raw)


def stages_for(ctx, raw, msgdata) -> tuple[object, tuple]:
    """(message, stages) for one row: ``STAGES`` with its AHEAD stages as one, prepared in
    the pool when the runner started an ``Ahead`` for its batch, else run here (``_Here``);
    the message, empty, gets its headers from them."""
    ahead = (msgdata.get("batch") or {}).get(KEY)
    prepared = ahead.take(msgdata.get("inbox_id")) if ahead is not None else None
    if raw is None:
        parse_bytes(raw)  # raises the TypeError of a row without its bytes, before dedupe
    here = _Here(raw) if prepared is None else prepared
    stages = STAGES[:FIRST] + (here,) + STAGES[FIRST + len(AHEAD):]
    return EmailMessage(policy=POLICY), stages  # its headers come with the AHEAD stages


def finish(cache: dict) -> None:
    """Forget the batch's Ahead (cancel what was not used)."""
    ahead = cache.pop(KEY, None)
    if ahead is not None:
        ahead.close()
