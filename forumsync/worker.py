"""The worker: one loop that drains every durable queue (inbox, webhook events, outbox) and
runs the scheduled jobs (catalogue, subscribers, releases).

Each area exposes a task ``run_pending(ctx, worker_id) -> int`` (how many items it handled);
the worker calls them in order, sleeps when all return 0, and records a heartbeat so the
dashboard can tell it is alive.
"""
from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time

from .models import set_state, utcnow

log = logging.getLogger(__name__)

# Set by channels and the webhook endpoint after storing something, so an in-process worker
# (serve, demo) starts at once instead of waiting for its next poll.
_wakeup = threading.Event()


def wake() -> None:
    """Tell in-process workers there is new work (cheap; safe from any thread)."""
    _wakeup.set()

# (module, function); a module not built yet is skipped.
TASKS = (
    ("forumsync.pipeline.runner", "run_pending"),
    ("forumsync.forum.events", "run_pending"),
    ("forumsync.outbound.outbox", "run_pending"),
    ("forumsync.catalogue.sync", "run_scheduled"),
    ("forumsync.community.subscribers", "run_scheduled"),
    ("forumsync.community.releases", "run_scheduled"),
)


def load_tasks():
    tasks = []
    for module_name, function in TASKS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        tasks.append((f"{module_name}.{function}", getattr(module, function)))
    return tasks


class Worker:
    def __init__(self, ctx, worker_id: str | None = None):
        self.ctx = ctx
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.tasks = load_tasks()
        self.stopping = threading.Event()

    def heartbeat(self) -> None:
        with self.ctx.db.session() as session:
            set_state(session, "worker:heartbeat", {"at": utcnow().isoformat(), "id": self.worker_id})

    def run_once(self) -> int:
        """Run every task once; returns how many items were handled in all."""
        handled = 0
        for name, task in self.tasks:
            try:
                handled += task(self.ctx, self.worker_id) or 0
            except Exception:  # a task's own bug must not stop the other queues
                log.exception("tâche %s en échec", name)
        return handled

    def drain(self, max_rounds: int = 10000) -> int:
        """Run until nothing is left to do now (used by import-mbox, tests, benchmarks)."""
        total = 0
        for _ in range(max_rounds):
            done = self.run_once()
            total += done
            if not done:
                break
        return total

    def run_forever(self) -> None:
        last_beat = 0.0
        while not self.stopping.is_set():
            if time.monotonic() - last_beat > 5:
                try:
                    self.heartbeat()
                except Exception:  # the database may be briefly unavailable; keep looping
                    log.warning("battement de cœur non enregistré", exc_info=True)
                last_beat = time.monotonic()
            if not self.run_once():
                _wakeup.wait(self.ctx.settings.WORKER_POLL_SECONDS)
                _wakeup.clear()

    def stop(self) -> None:
        self.stopping.set()
        _wakeup.set()
