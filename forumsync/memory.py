"""glibc malloc set to give memory back: a long import must not keep its biggest moment.

By default glibc's malloc raises its thresholds with the largest buffer freed so far: after
one big message (a raw of a megabyte, its decoded parts, a batch's multipart body) a process
keeps that much heap for good. Set once per process (``cli``, and the pool's forkserver,
whose processes inherit it): a buffer of 64 KB or more is mapped on its own and returned to
the system when freed, and free memory at the top of the heap over 128 KB is returned too.
Measured on the usrp-users import (bench/README.md): 7 MB less per pool process, 8 MB less
in the import process. Without glibc, nothing.
"""
from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 64 * 1024
TRIM_THRESHOLD = 128 * 1024


def give_big_buffers_back() -> bool:
    """Set both thresholds; whether this C library took them (glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    took_mmap = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return took_mmap and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
