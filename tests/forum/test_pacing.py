"""The forum request budget shared through the database (forumsync.forum.pacing): processes
(here: threads, each with its own engine and connections) on one database stay under it
together; a 429 from the forum is honoured and makes every process wait."""
from __future__ import annotations

import threading
import time

import pytest

from forumsync.db import Database
from forumsync.forum.gateway import ForumGateway
from forumsync.forum.pacing import RequestPacer, limits, pacer_for

WINDOW = 2.0  # seconds standing for Discourse's minute, so the test takes seconds


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("per_minute", [1, 2, 10, 60, 61, 600])
def test_any_window_holds_at_most_the_limit(per_minute):
    capacity, rate = limits(per_minute)
    assert capacity >= 1
    assert capacity + rate * 60 <= max(per_minute, 2)


def test_processes_sharing_a_database_stay_under_the_budget_together(db_url):
    limit = 10
    stamps: list[float] = []
    lock = threading.Lock()
    deadline = time.time() + 3 * WINDOW
    databases = [Database(db_url) for _ in range(3)]  # one engine each, as separate processes

    def client(database):
        pacer = RequestPacer(database, "http://forum.example.org", limit, window=WINDOW)
        while time.time() < deadline:
            pacer.take()
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=client, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for database in databases:
        database.dispose()
    assert max_in_window(stamps, WINDOW) <= limit
    # …and the budget is used, not wasted: about capacity + 3 windows of refill.
    capacity, rate = limits(limit, WINDOW)
    assert len(stamps) >= capacity + rate * 3 * WINDOW * 0.7


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
    started = time.monotonic()
    waiting = threading.Thread(target=gateway.as_user("system").site_setting_get, args=("title",))
    waiting.start()  # clones share the pacer and the stats
    time.sleep(0.5)
    second.take()
    assert time.monotonic() - started >= 1.8
    waiting.join(timeout=10)
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
