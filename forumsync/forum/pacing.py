"""Request pacing shared by every forumsync process: a token bucket kept in the database.

Discourse limits admin API requests for the whole site (``max_admin_api_reqs_per_minute``,
60 by default; a sliding one-minute window, answered 429 beyond it). Two workers, an import
and a catalogue sync each unaware of the others would together exceed it, so every request
the gateway sends first takes a token from one ``request_budget`` row per forum URL, with a
single atomic ``UPDATE … WHERE available >= 1`` (a row lock on PostgreSQL, the database lock
on SQLite): processes on the same database share ``FORUM_MAX_REQUESTS_PER_MINUTE`` together.

The bucket holds ``capacity = max(1, N // 10)`` tokens and refills at ``(N - capacity) / 60``
per second, so any 60-second window sees at most ``capacity + 60 × rate = N`` requests: the
forum's own window never fills. A 429 (another client, a lower limit on the forum) is still
honoured by the gateway, and shared: the bucket is emptied for the wait it asked, so the other
processes wait too. ``N = 0`` disables pacing (tests that need speed, a forum without limits).

Clocks: the refill uses each process's wall clock (``time.time``); processes on one host, or
hosts kept in time by NTP, agree well enough (a clock behind never moves the bucket back).
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ..models.request_budget import RequestBudget

log = logging.getLogger(__name__)

MAX_SLEEP = 5.0  # look again at least this often (another process may have given tokens back)

_budget = RequestBudget.__table__
_now = bindparam("now")
_elapsed = case((_now > _budget.c.updated_at, _now - _budget.c.updated_at), else_=0.0)
_refilled = _budget.c.tokens + _elapsed * bindparam("rate")
_available = case((_refilled > bindparam("capacity"), bindparam("capacity")), else_=_refilled)
_TAKE = (update(_budget)
         .where(_budget.c.key == bindparam("budget_key"), _available >= 1)
         .values(tokens=_available - 1,
                 updated_at=case((_now > _budget.c.updated_at, _now), else_=_budget.c.updated_at)))
_READ = select(_budget.c.tokens, _budget.c.updated_at).where(_budget.c.key == bindparam("budget_key"))
# After a 429: no token for WAIT seconds, for every process.
_DRAIN = (update(_budget).where(_budget.c.key == bindparam("budget_key"))
          .values(tokens=case((_available < bindparam("floor"), _available), else_=bindparam("floor")),
                  updated_at=case((_now > _budget.c.updated_at, _now), else_=_budget.c.updated_at)))


def limits(per_minute: int, window: float = 60.0) -> tuple[float, float]:
    """(capacity, refill per second) keeping any WINDOW-second window at PER_MINUTE at most
    (WINDOW is 60 but for tests that cannot wait minutes)."""
    capacity = float(max(1, per_minute // 10))
    return capacity, max(per_minute - capacity, 1.0) / window


class RequestPacer:
    """``take()`` before each forum request; ``penalize(seconds)`` after a 429."""

    def __init__(self, database, key: str, per_minute: int, *, window: float = 60.0,
                 clock=time.time, sleep=time.sleep):
        self._database = database  # a Database, or a callable returning one (opened lazily)
        self.key = key[:200]
        self.per_minute = per_minute
        self.capacity, self.rate = limits(per_minute, window)
        self.clock = clock
        self.sleep = sleep
        self._ready = False
        self._local = None  # in-process bucket while the database does not answer
        self._lock = threading.Lock()

    @property
    def database(self):
        if callable(self._database):
            self._database = self._database()
        return self._database

    def _params(self, **extra) -> dict:
        return dict(budget_key=self.key, now=self.clock(), rate=self.rate, capacity=self.capacity,
                    **extra)

    def _ensure_row(self, conn) -> None:
        if self._ready:
            return
        if conn.execute(_READ, {"budget_key": self.key}).first() is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(_budget).values(key=self.key, tokens=self.capacity,
                                                        updated_at=self.clock()))
            except IntegrityError:  # another process created it first
                pass
        self._ready = True

    def _try(self) -> float:
        """0 when a token was taken, else the seconds until one should be available."""
        with self.database.connection() as conn:
            self._ensure_row(conn)
            params = self._params()
            if conn.execute(_TAKE, params).rowcount == 1:
                return 0.0
            row = conn.execute(_READ, {"budget_key": self.key}).first()
        if row is None:  # deleted under us: create it again next time
            self._ready = False
            return 0.01
        available = min(self.capacity,
                        row.tokens + max(0.0, params["now"] - row.updated_at) * self.rate)
        return max((1.0 - available) / self.rate, 0.01)

    def take(self) -> float:
        """Wait for a token; returns the seconds waited."""
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
            if wait <= 0:
                return waited
            wait = min(wait, MAX_SLEEP)
            self.sleep(wait)
            waited += wait

    def _take_local(self) -> float:
        with self._lock:
            now = self.clock()
            tokens, at = self._local or (self.capacity, now)
            tokens = min(self.capacity, tokens + max(0.0, now - at) * self.rate)
            if tokens >= 1:
                self._local = (tokens - 1, now)
                return 0.0
            self._local = (tokens, now)
            return (1.0 - tokens) / self.rate

    def penalize(self, seconds: float) -> None:
        """The forum answered 429 asking to wait SECONDS: no process takes a token before."""
        if not self.per_minute or seconds <= 0:
            return
        try:
            with self.database.connection() as conn:
                self._ensure_row(conn)
                conn.execute(_DRAIN, self._params(floor=1.0 - seconds * self.rate))
        except OperationalError:
            log.warning("budget de requêtes du forum non mis à jour après un 429", exc_info=True)


def pacer_for(ctx) -> RequestPacer | None:
    """The pacer of CTX's forum (None when FORUM_MAX_REQUESTS_PER_MINUTE is 0)."""
    per_minute = ctx.settings.FORUM_MAX_REQUESTS_PER_MINUTE
    if not per_minute:
        return None
    return RequestPacer(lambda: ctx.db, ctx.settings.FORUM_URL.rstrip("/"), per_minute)
