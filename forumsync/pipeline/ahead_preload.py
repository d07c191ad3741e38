"""What a pool's forkserver imports before it forks the pool processes (``ahead_pool.pool``).

Only the forkserver imports this module: the stages a pool process runs (``ahead_pool``,
without the database, the forum or the other stages), Discourse's parser built once (the
linkify patterns are compiled here, not in each process), then ``gc.freeze()``. A process
forked from the forkserver shares its pages until it writes to them, and the cyclic garbage
collector writes to every object it walks: frozen, the imported modules stay out of its
reach (reference counts still copy the pages a pool process uses: measured, it holds ~56 MB
of its own, against 63–65 MB when the forkserver preloaded the whole pipeline).
"""
from __future__ import annotations

import ctypes
import gc

from ..mail.inert import discourse_parser
from . import ahead_pool  # noqa: F401  the pool processes' code

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def give_big_buffers_back() -> None:
    """glibc's malloc, in this process and those forked from it: a buffer of 64 KB or more (a
    message's raw bytes, its decoded parts) is mapped on its own and returned to the system
    when freed, and free memory at the top of the heap over 128 KB is returned too. By
    default both thresholds rise with the largest buffer freed so far, and one big message
    left the pool process holding its size for good (7 MB less per process over the
    usrp-users corpus, bench/README.md). Without glibc, nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, 64 * 1024)
    mallopt(M_TRIM_THRESHOLD, 128 * 1024)


discourse_parser()
give_big_buffers_back()
gc.freeze()
