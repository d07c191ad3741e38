"""Polling helper for tests that watch separate threads or processes."""
import time


def wait_until(predicate, timeout: float = 30.0, what: str = "la condition", interval: float = 0.1):
    """PREDICATE's first truthy value, or AssertionError naming WHAT after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"délai dépassé en attendant {what}")
