"""Request pacing shared by every forumsync process: Discourse's own sliding log, kept in the database.

Discourse limits admin API requests for the whole site (``max_admin_api_reqs_per_minute``, 60
by default) with ``RateLimiter`` (lib/rate_limiter.rb): a ring buffer of the last N request
times; a request passes when fewer than N are recorded or the oldest is more than 60 seconds
old, else 429. So a client may send N requests at once, then one more each time one of them
leaves the window. Two workers, an import and a catalogue sync each unaware of the others
would together exceed it, so every request the gateway sends first takes one of the N
``request_slot`` rows of its forum URL: the oldest, with one atomic
``UPDATE … WHERE at <= now - window`` (a row lock on PostgreSQL, the database lock on SQLite;
a process that lost the race finds the row changed and tries the next). Processes on the
same database keep ``FORUM_MAX_REQUESTS_PER_MINUTE`` together, with the full burst.

The window is 60 s plus ``MARGIN``: Discourse compares whole seconds (``Time.now.to_i``), so
it may count up to a second more than we do, and a request reaches the forum a little after
we stamp it. A 429 (another client, a lower limit on the forum) is still honoured by the
gateway, and shared: every slot is marked busy for the wait it asked, so the other processes
wait too. ``N = 0`` disables pacing (tests that need speed, a forum without limits).

Clocks: each process stamps with its wall clock (``time.time``); processes on one host, or
hosts kept in time by NTP, agree well enough. Processes sharing a forum must share N.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ..models.request_slot import RequestSlot

log = logging.getLogger(__name__)

MAX_SLEEP = 5.0  # look again at least this often (another process may have freed a slot)
MARGIN = 2.0  # seconds added to the window (see the module docstring)

_slots = RequestSlot.__table__
_key = bindparam("budget_key")
_mine = (_slots.c.key == _key) & (_slots.c.slot < bindparam("count"))
_other = _slots.alias("oldest")  # not correlated with the UPDATE's own table
_OLDEST = (select(_other.c.slot).where(_other.c.key == _key, _other.c.slot < bindparam("count"))
           .order_by(_other.c.at, _other.c.slot).limit(1).scalar_subquery())
_TAKE = (update(_slots)
         .where(_slots.c.key == _key, _slots.c.slot == _OLDEST,
                _slots.c.at <= bindparam("now") - bindparam("window"))
         .values(at=bindparam("now")))
_FIRST_FREE = select(func.min(_slots.c.at)).where(_mine)
_SLOTS = select(_slots.c.slot).where(_mine)
# After a 429: no slot is free before WAIT seconds, for every process.
_BUSY = (update(_slots).where(_mine, _slots.c.at < bindparam("busy_until"))
         .values(at=bindparam("busy_until")))


class RequestPacer:
    """``take()`` before each forum request; ``penalize(seconds)`` after a 429."""

    def __init__(self, database, key: str, per_minute: int, *, window: float = 60.0,
                 margin: float = MARGIN, clock=time.time, sleep=time.sleep):
        self._database = database  # a Database, or a callable returning one (opened lazily)
        self.key = key[:200]
        self.per_minute = per_minute
        self.window = window + margin
        self.clock = clock
        self.sleep = sleep
        self._ready = False
        self._local: deque = deque()  # in-process log while the database does not answer
        self._lock = threading.Lock()

    @property
    def database(self):
        if callable(self._database):
            self._database = self._database()
        return self._database

    def _params(self, **extra) -> dict:
        return dict(budget_key=self.key, count=self.per_minute, **extra)

    def _ensure_slots(self, conn) -> None:
        if self._ready:
            return
        have = set(conn.scalars(_SLOTS, self._params()))
        missing = [dict(key=self.key, slot=slot, at=0.0)
                   for slot in range(self.per_minute) if slot not in have]
        if missing:
            try:
                with conn.begin_nested():
                    conn.execute(insert(_slots), missing)
            except IntegrityError:  # another process created them first
                pass
        self._ready = True

    def _try(self) -> float:
        """0 when a slot was taken, else the seconds until the oldest one is free (may be 0:
        another process took the slot we aimed at, try again)."""
        with self.database.connection() as conn:
            self._ensure_slots(conn)
            now = self.clock()
            if conn.execute(_TAKE, self._params(now=now, window=self.window)).rowcount == 1:
                return 0.0
            oldest = conn.scalar(_FIRST_FREE, self._params())
        if oldest is None:  # deleted under us: create them again
            self._ready = False
            return -1.0
        return oldest + self.window - now

    def take(self) -> float:
        """Wait for a slot; returns the seconds waited."""
        if not self.per_minute:
            return 0.0
        waited = 0.0
        while True:
            try:
                wait = self._try()
            except OperationalError:
                # The database is away: keep to the same pace in this process alone rather
                # than stop talking to the forum (the runner reports the database itself).
                log.warning("budget de requêtes du forum indisponible (base de données) : "
                            "rythme tenu par ce processus seul", exc_info=True)
                wait = self._take_local()
            if wait == 0.0:
                return waited
            if wait < 0.0:
                continue
            wait = min(max(wait, 0.01), MAX_SLEEP)
            self.sleep(wait)
            waited += wait

    def _take_local(self) -> float:
        with self._lock:
            now = self.clock()
            while self._local and self._local[0] <= now - self.window:
                self._local.popleft()
            if len(self._local) < self.per_minute:
                self._local.append(now)
                return 0.0
            return self._local[0] + self.window - now

    def penalize(self, seconds: float) -> None:
        """The forum answered 429 asking to wait SECONDS: no process sends before."""
        if not self.per_minute or seconds <= 0:
            return
        busy_until = self.clock() + seconds - self.window
        with self._lock:
            stamps = list(self._local) + [busy_until] * (self.per_minute - len(self._local))
            self._local = deque(sorted(max(at, busy_until) for at in stamps))
        try:
            with self.database.connection() as conn:
                self._ensure_slots(conn)
                conn.execute(_BUSY, self._params(busy_until=busy_until))
        except OperationalError:
            log.warning("budget de requêtes du forum non mis à jour après un 429", exc_info=True)


def pacer_for(ctx) -> RequestPacer | None:
    """The pacer of CTX's forum (None when FORUM_MAX_REQUESTS_PER_MINUTE is 0)."""
    per_minute = ctx.settings.FORUM_MAX_REQUESTS_PER_MINUTE
    if not per_minute:
        return None
    return RequestPacer(lambda: ctx.db, ctx.settings.FORUM_URL.rstrip("/"), per_minute)
