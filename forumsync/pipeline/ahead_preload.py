"""What a pool's forkserver imports before it forks the pool processes (``ahead_pool.pool``),
and what ``import-mbox`` imports before it forks its pool itself (``ahead_pool.fork_now``).

Only those two import this module: the stages a pool process runs (``ahead_pool``,
without the database, the forum or the other stages), Discourse's parser built once (the
linkify patterns are compiled here, not in each process), then ``gc.freeze()``. A process
forked from the forkserver shares its pages until it writes to them, and the cyclic garbage
collector writes to every object it walks: frozen, the imported modules stay out of its
reach (reference counts still copy the pages a pool process uses: measured, it holds ~56 MB
of its own, against 63–65 MB when the forkserver preloaded the whole pipeline).
"""
from __future__ import annotations

import gc

from ..mail.inert import discourse_parser
from ..memory import give_big_buffers_back
from . import ahead_pool  # noqa: F401  the pool processes' code

discourse_parser()
give_big_buffers_back()
gc.freeze()
