"""The worker: one loop that drains every durable queue (inbox, webhook events, outbox) and
runs the scheduled jobs (catalogue, subscribers, releases).

Each area exposes a task ``run_pending(ctx, worker_id) -> int`` (how many items it handled);
the worker calls them in order, sleeps when all return 0, and records a heartbeat so the
dashboard can tell it is alive.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from . import queues
from .catalogue import sync as catalogue_sync
from .community import releases, subscribers
from .forum import events
from .models import set_state, utcnow
from .outbound import outbox
from .pipeline import runner
from .queues import wake

log = logging.getLogger(__name__)

TASKS = (
    runner.run_pending,
    events.run_pending,
    outbox.run_pending,
    catalogue_sync.run_scheduled,
    subscribers.run_scheduled,
    releases.run_scheduled,
)


def load_tasks():
    """(name, task) pairs; the name (``module.function``) shows in logs and lets a command
    swap one task (``import-mbox`` publishes its backlog in batches)."""
    return [(f"{task.__module__}.{task.__name__}", task) for task in TASKS]


class Worker:
    def __init__(self, ctx, worker_id: str | None = None):
        self.ctx = ctx
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.tasks = load_tasks()
        self.stopping = threading.Event()
        self._orphans = False

    def heartbeat(self) -> None:
        with self.ctx.db.session() as session:
            set_state(session, "worker:heartbeat", {"at": utcnow().isoformat(), "id": self.worker_id})

    def run_once(self) -> int:
        """Run every task once; returns how many items were handled in all."""
        handled = 0
        if self._orphans:
            self._release_own_claims()
        for name, task in self.tasks:
            try:
                handled += task(self.ctx, self.worker_id) or 0
            except Exception:  # a task's own bug must not stop the other queues
                log.exception("tâche %s en échec", name)
                # e.g. the database went away mid-batch: rows this worker claimed may be left
                # "processing"; release them once the database answers again.
                self._orphans = True
        return handled

    def _release_own_claims(self) -> None:
        """Between rounds this worker holds no claim: any row still locked by its id was left
        by a task that failed mid-batch, and is made claimable at once — once the outcomes of
        mails already handed to the mail server are recorded (never sent twice)."""
        from .outbound.outbox import flush_unrecorded

        if not flush_unrecorded(self.ctx):
            return
        try:
            queues.release_claims_of(self.ctx.db, self.worker_id)
        except Exception:  # still unavailable: try again next round
            log.warning("réservations de ce worker non libérées (base indisponible ?)", exc_info=True)
            return
        self._orphans = False

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
        from .outbound.outbox import recover_unrecorded, save_unrecorded

        try:
            recover_unrecorded(self.ctx)  # mails handed over before a stop: never sent again
            queues.release_dead_claims(self.ctx.db)
        except Exception:  # the database may be briefly unavailable; stale locks expire anyway
            log.warning("réservations orphelines non libérées", exc_info=True)
        try:
            self._loop()
        finally:
            save_unrecorded(self.ctx)

    def _loop(self) -> None:
        last_beat = 0.0
        while not self.stopping.is_set():
            if time.monotonic() - last_beat > 5:
                try:
                    self.heartbeat()
                except Exception:  # the database may be briefly unavailable; keep looping
                    log.warning("battement de cœur non enregistré", exc_info=True)
                last_beat = time.monotonic()
            queues.clear_wakeup()  # before running: a wake-up during run_once is not lost
            if not self.run_once():
                queues.wait_for_work(self.ctx.settings.WORKER_POLL_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        wake()
