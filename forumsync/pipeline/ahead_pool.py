"""The process pool that runs the CPU-bound ``AHEAD`` stages, and what runs in its processes.

``pipeline/prepare.py`` decides, per claimed batch, which messages go ahead and takes their
results back; this module owns the pool's life (one ``ProcessPoolExecutor`` per pool size and
process, started on first use) and ``run_ahead``, the function a pool process runs for one
message. How its processes start:

- ``fork_now`` (Linux): forked from this very process, while it has no other thread and no database
  connection yet (``import-mbox`` calls it first). The pool processes share every page of
  the modules this process imported, and neither a forkserver (19 MB of PSS) nor a resource
  tracker (7 MB) runs: the import's processes together went from 167–172 MB to 111–115 MB
  with the lazy CLI and the heap released (bench/README.md);
- otherwise (the worker's backlog, tests, a pool started again after it broke):
  ``forkserver`` where the platform has it, ``spawn`` elsewhere, never ``fork`` from a
  process with threads and open database connections.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from ..mail import parse_bytes
from ..memory import message_done
from . import ahead_checks, autoreply, bounce, loop, parse, trim
from .budget import cpu_budget

AHEAD = (loop, autoreply, bounce, parse, trim)  # consecutive in STAGES (checked by prepare)
SEED = ("inbox_id", "channel", "message_id", "received_at", "meta", "attempt", "interrupted")
INLINE = "inline"  # a pool process's answer: run AHEAD in the main process instead
WATCH_SECONDS = 1.0  # how often a pool process checks that the process that made it is alive


def pool_size(settings) -> int:
    """PIPELINE_POOL_SIZE, by default one process fewer than the CPUs: the main side is the
    last one (it takes back the messages no pool process has started when it reaches them)."""
    size = settings.PIPELINE_POOL_SIZE
    return max(0, (os.cpu_count() or 1) - 1) if size is None else size


# ---------------------------------------------------------------------- in a pool process
class _Settings:
    """What the AHEAD stages read from ``ctx``: its settings, nothing else; and the forum's
    maximum post length for ``ahead_checks`` (None: unknown)."""

    def __init__(self, settings, cut_over=None):
        self.settings, self.cut_over = settings, cut_over


@functools.lru_cache(maxsize=4)
def _context(blob: bytes) -> _Settings:
    return _Settings(*pickle.loads(blob))


def run_ahead(settings_blob: bytes, seed: dict, raw: bytes | None):
    """In a pool process: the AHEAD stages over RAW; (the msgdata keys they set, the checks
    of the expected post text: ``ahead_checks``, the message's head: ``head_of``), or INLINE."""
    message_done()
    ctx = _context(settings_blob)
    msgdata = dict(seed)
    try:
        with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):
            msg = parse_bytes(raw)
            for stage in AHEAD:
                stage.process(ctx, msg, msgdata)
            checks = ahead_checks.run(msgdata, ctx.cut_over)
    except Exception as exc:
        if not _survives_pickling(exc):
            return INLINE
        raise  # re-raised by the main side where the stage would have raised it
    result = {key: value for key, value in msgdata.items() if key not in SEED}
    try:
        pickle.dumps(result)
    except Exception:
        return INLINE
    return result, checks, head_of(msg)


def head_of(msg) -> tuple[list, str | None]:
    """What the stages after AHEAD read of the message: its headers as the parser stored them
    (name, raw value) and its Unix From line (``prepare.with_head`` puts them back)."""
    return list(msg.raw_items()), msg.get_unixfrom()


def _survives_pickling(exc: Exception) -> bool:
    try:
        copy_ = pickle.loads(pickle.dumps(exc))
    except Exception:
        return False
    return type(copy_) is type(exc) and repr(copy_) == repr(exc)


def _alive(pid: int) -> bool:
    """Whether process PID still runs (a zombie — dead, not yet reaped — does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _watch_parent(pid: int) -> None:
    """In a pool process: exit when the process that made the pool is gone. Killed with -9 (or
    by the OOM killer), it never shuts the pool down, and its workers would wait forever on a
    queue whose other end they hold themselves (they were found still running after a bench)."""
    def watch():
        while _alive(pid):
            time.sleep(WATCH_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="forumsync-pool-watch", daemon=True).start()


def _warm() -> bool:
    """Import the stages in a fresh pool process before the first message needs them."""
    return True


# ---------------------------------------------------------------------- the pool's life
_pools: dict[int, ProcessPoolExecutor] = {}
_pools_lock = threading.Lock()


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def pool(size: int, method: str | None = None) -> ProcessPoolExecutor:
    """The process pool of SIZE processes (started once per process and size; METHOD: how
    its processes start, ``fork_now`` alone asks for ``fork``)."""
    with _pools_lock:
        executor = _pools.get(size)
        if executor is None:
            context = multiprocessing.get_context(method or _start_method())
            if context.get_start_method() == "forkserver":
                context.set_forkserver_preload([f"{__package__}.ahead_preload"])
            executor = ProcessPoolExecutor(max_workers=size, mp_context=context,
                                           initializer=_watch_parent, initargs=(os.getpid(),))
            for _ in range(size):
                executor.submit(_warm)
            _pools[size] = executor
        return executor


def fork_now(settings) -> bool:
    """Start the pool by forking this process now, if it can be done safely: it runs no
    other thread (a lock another thread holds would stay held in the copy) and the caller has
    opened no database yet. What the pool processes run is imported first, as a forkserver
    would (``ahead_preload``: frozen out of the cyclic collector's reach, which would write to
    every object it walks and copy the pages they share); what only the main side runs is
    imported after, in its own pages (imported before, each page the main side then writes to
    stays in the pool processes as their own copy: 128–129 MB for the import's processes
    together instead of 113–115, measured). False: nothing done, ``start_soon`` is the way."""
    size = pool_size(settings)
    # (Linux only: macOS has fork, but its system libraries do not survive it — Python's
    # default there is spawn)
    if (size <= 0 or not sys.platform.startswith("linux") or threading.active_count() > 1
            or size in _pools):
        return False
    from . import ahead_preload  # noqa: F401  the pool's modules, its parser built, gc.freeze()

    pool(size, method="fork")
    return True


def start_soon(settings) -> None:
    """Start the pool from a thread now, for a backlog about to come (``import-mbox``: its
    processes start while the first claim's messages are read, not when the claim begins)."""
    size = pool_size(settings)
    if size > 0:
        threading.Thread(target=pool, args=(size,), name="forumsync-pool-start", daemon=True).start()


def discard(size: int, executor: ProcessPoolExecutor) -> None:
    """Forget a broken pool (the next backlog starts a new one)."""
    with _pools_lock:
        if _pools.get(size) is executor:
            del _pools[size]
    executor.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop every pool of this process (tests; the interpreter's exit does it too)."""
    with _pools_lock:
        executors = list(_pools.values())
        _pools.clear()
    for executor in executors:
        executor.shutdown(wait=True, cancel_futures=True)
