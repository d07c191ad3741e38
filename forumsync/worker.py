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

# (module, function), imported when a worker starts (the areas import this module for wake()).
TASKS = (
    ("forumsync.pipeline.runner", "run_pending"),
    ("forumsync.forum.events", "run_pending"),
    ("forumsync.outbound.outbox", "run_pending"),
    ("forumsync.catalogue.sync", "run_scheduled"),
    ("forumsync.community.subscribers", "run_scheduled"),
    ("forumsync.community.releases", "run_scheduled"),
)


def load_tasks():
    return [(f"{module_name}.{function}", getattr(importlib.import_module(module_name), function))
            for module_name, function in TASKS]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (EPERM)
        return True
    return True


def release_dead_claims(ctx) -> int:
    """Make rows claimed by a worker of this host that no longer runs (``kill -9``, crash)
    claimable at once, instead of after the stale-lock delay. Worker ids are
    ``host:pid:thread``; only dead pids of this very host are released (issue 8)."""
    from datetime import datetime, timezone

    from sqlalchemy import select, update

    from .models import InboxMessage, OutboxMail, WebhookEvent

    host = socket.gethostname()
    long_ago = datetime(2000, 1, 1, tzinfo=timezone.utc)
    released = 0
    with ctx.db.session() as session:
        for model, state in ((InboxMessage, "processing"), (WebhookEvent, "processing"),
                             (OutboxMail, "sending")):
            owners = session.scalars(select(model.locked_by).where(model.state == state)
                                     .distinct()).all()
            for owner in owners:
                parts = (owner or "").split(":")
                if len(parts) < 3 or parts[0] != host or not parts[1].isdigit():
                    continue
                pid = int(parts[1])
                if pid == os.getpid() or _pid_alive(pid):
                    continue
                released += session.execute(
                    update(model).where(model.state == state, model.locked_by == owner)
                    .values(locked_at=long_ago).execution_options(synchronize_session=False)).rowcount
    if released:
        log.warning("%s élément(s) réservé(s) par un worker arrêté brutalement remis en file", released)
    return released


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
        by a task that failed mid-batch, and is made claimable at once."""
        from datetime import datetime, timezone

        from sqlalchemy import update

        from .models import InboxMessage, OutboxMail, WebhookEvent

        long_ago = datetime(2000, 1, 1, tzinfo=timezone.utc)
        try:
            with self.ctx.db.session() as session:
                for model, state in ((InboxMessage, "processing"), (WebhookEvent, "processing"),
                                     (OutboxMail, "sending")):
                    session.execute(update(model).where(model.state == state,
                                                        model.locked_by == self.worker_id[:64])
                                    .values(locked_at=long_ago)
                                    .execution_options(synchronize_session=False))
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
        try:
            release_dead_claims(self.ctx)
        except Exception:  # the database may be briefly unavailable; stale locks expire anyway
            log.warning("réservations orphelines non libérées", exc_info=True)
        last_beat = 0.0
        while not self.stopping.is_set():
            if time.monotonic() - last_beat > 5:
                try:
                    self.heartbeat()
                except Exception:  # the database may be briefly unavailable; keep looping
                    log.warning("battement de cœur non enregistré", exc_info=True)
                last_beat = time.monotonic()
            _wakeup.clear()  # before running: a wake-up during run_once is not lost
            if not self.run_once():
                _wakeup.wait(self.ctx.settings.WORKER_POLL_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        _wakeup.set()
