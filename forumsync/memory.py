"""glibc malloc set to give memory back: a long import must not keep its biggest moment.

By default glibc's malloc raises its thresholds with the largest buffer freed so far: after
one big message (a raw of a megabyte, its decoded parts, a batch's multipart body) a process
keeps that much heap for good. Set once per process (``cli``, and the pool's forkserver;
forked pool processes inherit it): a buffer of 64 KB or more is mapped on its own and returned to
the system when freed, and free memory at the top of the heap over 128 KB is returned too.
Measured on the usrp-users import (bench/README.md): 7 MB less per pool process, 8 MB less
in the import process.

Freed chunks below the top of the heap stay resident all the same: a pool process that had
parsed the usrp-users corpus held 29 MB of them (71 MB of RSS, 42 after ``malloc_trim(0)``).
``message_done`` gives them back every ``RELEASE_EVERY`` messages (``malloc_trim`` walks the free
chunks and unmaps their whole pages: ~60 µs here).

A process with threads (``import-mbox``) caps glibc's arenas first (``fewer_malloc_arenas``).
Without glibc, nothing.
"""
from __future__ import annotations

import ctypes
import itertools
from functools import lru_cache

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 64 * 1024
TRIM_THRESHOLD = 128 * 1024
RELEASE_EVERY = 32  # messages between two releases of the free pages


@lru_cache(maxsize=None)
def _glibc(name: str):
    """The C library's function NAME, or None (not glibc, no such function)."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def give_big_buffers_back() -> bool:
    """Set both thresholds; whether this C library took them (glibc)."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    took_mmap = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return took_mmap and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def fewer_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas for the threads this process starts next (call it first):
    each of the import's threads (reading, publishing, the pool's feeder and result threads)
    kept the freed bytes of messages in an arena of its own (up to 8 per core), 20 MB of peak
    RSS more than with 2 (bench/README.md). As ``MALLOC_ARENA_MAX=2``."""
    mallopt = _glibc("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, arenas)


def release_free_pages() -> bool:
    """Give every whole free page of the heap back to the system (glibc's ``malloc_trim(0)``);
    whether this C library has it."""
    trim = _glibc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


_messages = itertools.count(1)


def message_done() -> None:
    """Called once per message handled (the pipeline's main side, each pool process): every
    ``RELEASE_EVERY`` messages, the free pages go back."""
    if next(_messages) % RELEASE_EVERY == 0:
        release_free_pages()
