"""The forum request budget shared through the database (forumsync.forum.pacing): processes
(here: threads, each with its own engine and connections) on one database stay under it
together; a 429 from the forum is honoured and makes every process wait."""
from __future__ import annotations

import threading
import time


from forumsync.db import Database
from forumsync.forum.gateway import ForumGateway
from forumsync.forum.pacing import RequestPacer, pacer_for

WINDOW = 2.0  # seconds standing for Discourse's minute, so the test takes seconds


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class FakeTime:
    """A clock that only moves when the pacer sleeps."""

    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_full_burst_then_one_more_each_time_one_leaves_the_window(sqlite_url):
    database, fake = Database(sqlite_url), FakeTime()
    pacer = RequestPacer(database, "http://forum.example.org", 5, window=10, margin=0,
                         clock=fake.clock, sleep=fake.sleep)
    stamps = []
    for _ in range(12):
        pacer.take()
        stamps.append(fake.now - 1_000_000.0)
    assert stamps[:5] == [0.0] * 5  # Discourse lets the whole burst through at once
    assert [round(s, 2) for s in stamps[5:]] == [10.0] * 5 + [20.0] * 2
    assert max_in_window(stamps, 10) <= 5
    database.dispose()


def discourse_allows(log: list[int], limit: int, now: float) -> bool:
    """lib/rate_limiter.rb: a ring buffer of the last LIMIT whole-second times; a request
    passes when it is not full or its oldest is more than 60 seconds old."""
    if len(log) < limit or int(now) - log[-limit] > 60:
        log.append(int(now))
        return True
    return False


def test_paced_requests_are_never_refused_by_discourses_whole_second_limiter(sqlite_url):
    """The margin covers Discourse's whole seconds and the request's way to the forum."""
    database, fake = Database(sqlite_url), FakeTime(1_000_000.7)
    pacer = RequestPacer(database, "http://forum.example.org", 60, clock=fake.clock,
                         sleep=fake.sleep)
    log, refused = [], 0
    for i in range(400):
        pacer.take()
        arrival = fake.now + (0.3 if i % 7 == 0 else 0.01)  # some requests reach it later
        refused += not discourse_allows(log, 60, arrival)
        fake.now += 0.05 * (i % 3)  # the request's own time
    assert refused == 0
    assert fake.now - 1_000_000.7 < 6 * 62.5  # and the budget is used: 400 in under 7 windows
    database.dispose()


def test_processes_sharing_a_database_stay_under_the_budget_together(db_url):
    limit = 10
    stamps: list[float] = []
    lock = threading.Lock()
    deadline = time.time() + 3 * WINDOW
    databases = [Database(db_url) for _ in range(3)]  # one engine each, as separate processes

    def client(database):
        # Each token's time as the pacer took it (its clock's last reading in this thread), not
        # a time.time() after take() returns: on a loaded machine a thread can be held between
        # the two for longer than the margin, which says nothing about the shared budget (the
        # margin for requests reaching the forum late is tested with a fake clock above).
        read = threading.local()

        def clock():
            read.now = time.time()
            return read.now

        pacer = RequestPacer(database, "http://forum.example.org", limit, window=WINDOW, margin=0.05,
                             clock=clock)
        while time.time() < deadline:
            pacer.take()
            with lock:
                stamps.append(read.now)

    threads = [threading.Thread(target=client, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    for database in databases:
        database.dispose()
    assert max_in_window(stamps, WINDOW) <= limit
    # …and the budget is used, not wasted: the limit in each of the 3 windows.
    assert len(stamps) >= limit * 3 * 0.9


def test_each_forum_has_its_own_budget(sqlite_url):
    database = Database(sqlite_url)
    waits = []
    for key in ("http://a.example.org", "http://b.example.org"):
        pacer = RequestPacer(database, key, 10, window=60)
        waits.append(pacer.take())
    assert waits == [0.0, 0.0]
    database.dispose()


def test_a_429_is_honoured_and_shared_with_the_other_processes(sqlite_url, localforum):
    first_db, second_db = Database(sqlite_url), Database(sqlite_url)
    key = localforum.url
    first = RequestPacer(first_db, key, 600, window=60)
    second = RequestPacer(second_db, key, 600, window=60)
    gateway = ForumGateway(localforum.url, localforum.api_key, localforum.username, retries=0,
                           pacer=first)
    localforum.faults.rate_limit(retry_after=1, count=1)
    started = time.monotonic()
    gateway.site_setting_get("title")
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert gateway.stats["429"] == 1 and gateway.stats["requests"] == 2
    # The other process is told too: while this one waits, its next token waits as long.
    localforum.faults.rate_limit(retry_after=2, count=1)
    penalized = threading.Event()
    penalize = first.penalize

    def penalize_then_tell(seconds):
        penalize(seconds)
        penalized.set()

    first.penalize = penalize_then_tell  # the test waits for the 429 to be shared, not a guess
    started = time.monotonic()
    waiting = threading.Thread(target=gateway.as_user("system").site_setting_get, args=("title",))
    waiting.start()  # clones share the pacer and the stats
    assert penalized.wait(30), "the 429 never reached the shared pacer"
    second.take()
    assert time.monotonic() - started >= 1.8
    waiting.join(timeout=60)
    assert not waiting.is_alive()
    assert gateway.stats["429"] == 2
    first_db.dispose()
    second_db.dispose()


def test_the_context_paces_its_gateway_unless_told_not_to(tmp_path, sqlite_url):
    from forumsync.context import Context
    from tests.fixtures.database import make_settings

    paced = Context(make_settings(tmp_path, sqlite_url, FORUM_MAX_REQUESTS_PER_MINUTE=60))
    assert paced.forum.pacer is not None and paced.forum.pacer.per_minute == 60
    assert paced.forum.as_user("marie").pacer is paced.forum.pacer
    unpaced = Context(make_settings(tmp_path, sqlite_url, FORUM_MAX_REQUESTS_PER_MINUTE=0))
    assert unpaced.forum.pacer is None and pacer_for(unpaced) is None
    paced.close()
    unpaced.close()
