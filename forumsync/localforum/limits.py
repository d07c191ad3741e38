"""Discourse-like rate limiting and test-only fault injection for the local forum.

``RateLimiter`` answers 429 the way Discourse does (JSON ``extras.wait_seconds``,
``Retry-After``, ``Discourse-Rate-Limit-Error-Code``). ``Faults`` lets tests make the next
requests fail (500, 429 …) or slow down, and logs every (method, path) received.
"""
from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field


def rate_limit_body(wait_seconds: int) -> dict:
    unit = "second" if wait_seconds == 1 else "seconds"
    return {"errors": [f"You've performed this action too many times. Please wait "
                       f"{wait_seconds} {unit} before trying again."],
            "error_type": "rate_limit",
            "extras": {"wait_seconds": wait_seconds, "time_left": f"{wait_seconds} {unit}"}}


DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE = 60  # config/discourse_defaults.conf


class RateLimiter:
    """Discourse's RateLimiter: the last PER_MINUTE hits of a key within 60 s (0 = off, a
    local-forum convenience; Discourse has no "off"). ``refused`` counts the 429s given."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.refused = 0
        self._hits: dict[str, deque] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> int | None:
        """None when allowed, else the seconds to wait."""
        if not self.per_minute:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                self.refused += 1
                return max(1, math.ceil(hits[0] + 60 - now))
            hits.append(now)
            return None


HOLD_LIMIT = 120.0  # seconds a held request waits for release() at most


@dataclass
class FaultRule:
    status: int | None = None      # answer this status instead of the real response
    delay: float = 0.0             # sleep before answering
    retry_after: int | None = None
    remaining: int | None = None   # how many requests it still applies to (None: until `until`)
    until: float | None = None     # monotonic deadline
    method: str | None = None
    path: re.Pattern | None = None
    finished: int = 0              # requests it applied to whose answer is complete
    held: bool = False             # hold each request until release() (see Faults.hold)
    _done: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _released: threading.Event = field(default_factory=threading.Event, repr=False)

    def release(self) -> None:
        """Let the requests held by this rule (and those it will hold) go on."""
        self._released.set()

    def wait_released(self) -> None:
        """Called by the forum for a held request: block until release(), at most HOLD_LIMIT
        seconds (a test that forgets to release must not leave a server thread stuck)."""
        self._released.wait(HOLD_LIMIT)

    def mark_finished(self) -> None:
        with self._done:
            self.finished += 1
            self._done.notify_all()

    def wait_finished(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Block until COUNT requests it applied to were fully handled — a test waits for the
        forum to finish its slow write instead of guessing with a sleep."""
        with self._done:
            return self._done.wait_for(lambda: self.finished >= count, timeout)

    def matches(self, method: str, path: str, now: float) -> bool:
        if self.until is not None and now > self.until:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method and self.method != method:
            return False
        return not (self.path and not self.path.search(path))


class RequestLog(list):
    """(method, path) of every request, in order; ``count_of("POST", "/posts.json")``."""

    def count_of(self, method: str, path: str) -> int:
        return self.count((method, path))


@dataclass
class Faults:
    rules: list[FaultRule] = field(default_factory=list)
    requests: RequestLog = field(default_factory=RequestLog)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _add(self, count, seconds, method, path, **kw) -> FaultRule:
        if count is None and seconds is None:
            count = 1
        rule = FaultRule(remaining=count, until=None if seconds is None else time.monotonic() + seconds,
                         method=method.upper() if method else None,
                         path=re.compile(path) if path else None, **kw)
        with self._lock:
            self.rules.append(rule)
        return rule

    def fail(self, status: int = 500, count: int | None = None, seconds: float | None = None,
             method: str | None = None, path: str | None = None) -> FaultRule:
        """The next COUNT requests (or those during SECONDS) answer STATUS."""
        return self._add(count, seconds, method, path, status=status)

    def rate_limit(self, retry_after: int = 1, count: int | None = None,
                   seconds: float | None = None, method: str | None = None,
                   path: str | None = None) -> FaultRule:
        """The next requests answer Discourse's 429 with Retry-After RETRY_AFTER."""
        return self._add(count, seconds, method, path, status=429, retry_after=retry_after)

    def slow(self, delay: float, count: int | None = None, seconds: float | None = None,
             method: str | None = None, path: str | None = None) -> FaultRule:
        """The next requests sleep DELAY seconds before being answered normally."""
        return self._add(count, seconds, method, path, delay=delay)

    def hold(self, count: int | None = None, seconds: float | None = None,
             method: str | None = None, path: str | None = None) -> FaultRule:
        """The next requests wait until the rule's release() before being answered normally:
        a read timeout of the caller, whatever the machine's load, then a write the test lets
        finish (``rule.release(); rule.wait_finished()``) — no race between two delays."""
        return self._add(count, seconds, method, path, held=True)

    def clear(self) -> None:
        with self._lock:
            for rule in self.rules:
                rule.release()
            self.rules.clear()

    def record(self, method: str, path: str) -> FaultRule | None:
        """Log the request and return the fault to apply to it, if any."""
        now = time.monotonic()
        with self._lock:
            self.requests.append((method, path))
            for rule in self.rules:
                if rule.matches(method, path, now):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None
