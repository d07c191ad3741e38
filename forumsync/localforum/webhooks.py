"""Outgoing Discourse webhooks: a durable queue table drained by one background thread.

The API only inserts a row (in the same transaction as the change); this thread signs and
POSTs it with Discourse's headers, so delivery never blocks a request. As Discourse's
``Jobs::EmitWebHookEvent`` (app/jobs/regular/emit_web_hook_event.rb):
- every attempt is a new WebHookEvent, so a retry carries a new ``X-Discourse-Event-Id``;
- a 2xx is done; 404/410 is not retried; another status is retried only while the site
  setting ``retry_web_hook_events`` is on (Discourse's default: off), at most
  MAX_RETRY_COUNT times, RETRY_BACKOFF ** (retry - 1) minutes apart (1, 5, 25, 125);
- no HTTP answer at all (connection refused, timeout) is recorded as status -1, not retried.
The thread sleeps until the earliest due attempt (one indexed query), so a dead receiver
costs nothing between attempts.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from datetime import timedelta

import requests
from sqlalchemy import func, select

from . import sitesettings
from .models import WebhookAttempt, WebhookDelivery, utcnow

log = logging.getLogger("forumsync.localforum.webhooks")
MAX_RETRY_COUNT = 4   # Jobs::EmitWebHookEvent::MAX_RETRY_COUNT
RETRY_BACKOFF = 5     # Jobs::EmitWebHookEvent::RETRY_BACKOFF (minutes, to the power retry - 1)
BATCH = 50


def sign(secret: str, body: bytes) -> str:
    """X-Discourse-Event-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay_minutes(retry: int) -> int:
    """Delay before retry number RETRY (1-based), in minutes: 1, 5, 25, 125."""
    return RETRY_BACKOFF ** (retry - 1)


class WebhookDeliverer:
    """Delivers queued events to URL; ``sent`` lists every attempt (for tests).

    MINUTE is how many seconds a Discourse "minute" of backoff lasts (60; tests shorten it)."""

    def __init__(self, store, url: str | None, secret: str, instance: str, timeout: float = 5.0,
                 minute: float = 60.0):
        self.store = store
        self.url = url
        self.secret = secret
        self.instance = instance
        self.timeout = timeout
        self.minute = minute
        self.sent: list[dict] = []
        self.loops = 0  # wake-ups of the thread (a test checks it stays asleep)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        store.commit_hooks.append(self._wake.set)

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="localforum-webhooks", daemon=True)
        self._thread.start()

    def set_url(self, url: str | None) -> None:
        """Point delivery at URL (None: stop sending); starts the thread when needed."""
        self.url = url or None
        if self.enabled:
            self._stop.clear()
            self.start()
            self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._session.close()

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        while not self._stop.is_set():
            self.loops += 1
            self._wake.clear()
            self._busy.set()
            try:
                self.deliver_due()
                wait = self._seconds_to_next()
            except Exception:  # keep the thread alive whatever the database says
                log.exception("webhook delivery loop failed")
                wait = 1.0
            finally:
                self._busy.clear()
            if self.url is None:
                wait = None
            self._wake.wait(wait)

    def _seconds_to_next(self) -> float | None:
        """Seconds until the earliest pending attempt; None when nothing is pending."""
        with self.store.sessionmaker() as session:
            due = session.scalar(select(func.min(WebhookDelivery.next_attempt_at))
                                 .where(WebhookDelivery.state == "pending"))
        if due is None:
            return None
        return max(0.0, (due - utcnow()).total_seconds())

    def _due(self) -> list[WebhookDelivery]:
        with self.store.sessionmaker() as session:
            return list(session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.state == "pending",
                                              WebhookDelivery.next_attempt_at <= utcnow())
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(BATCH)))

    def deliver_due(self) -> int:
        """Send every attempt due now, a batch at a time (two commits per batch)."""
        sent = 0
        while self.url and not self._stop.is_set():
            rows = self._due()
            if not rows:
                break
            event_ids = self._new_attempts(rows)
            results = []
            for row, event_id in zip(rows, event_ids):
                if self._stop.is_set() or not self.url:
                    break
                results.append((row, event_id, self._post(row, event_id)))
            self._record(results)
            sent += len(results)
        return sent

    def _new_attempts(self, rows) -> list[int]:
        """One WebHookEvent per attempt: its id is the attempt's X-Discourse-Event-Id."""
        with self.store.sessionmaker() as session, session.begin():
            attempts = [WebhookAttempt(delivery_id=row.id) for row in rows]
            session.add_all(attempts)
            session.flush()
            return [a.id for a in attempts]

    def _post(self, row: WebhookDelivery, event_id: int) -> int | None:
        body = row.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "*/*",
            "User-Agent": "Discourse Forum Webhooks",
            "X-Discourse-Instance": self.instance,
            "X-Discourse-Event-Id": str(event_id),
            "X-Discourse-Event-Type": row.event_type,
            "X-Discourse-Event": row.event,
            "X-Discourse-Event-Signature": sign(self.secret, body),
        }
        status = None
        try:
            response = self._session.post(self.url, data=body, headers=headers, timeout=self.timeout)
            status = response.status_code
        except requests.RequestException as exc:
            log.info("webhook %s to %s failed: %s", row.id, self.url, exc)
        with self._lock:
            self.sent.append({"id": event_id, "delivery": row.id, "event": row.event,
                              "event_type": row.event_type, "headers": headers, "body": body,
                              "payload": json.loads(body), "status": status})
        return status

    def _record(self, results) -> None:
        """Done (2xx), given up (404/410, no answer, retries off or exhausted) or rescheduled."""
        with self.store.sessionmaker() as session, session.begin():
            retry = sitesettings.get(session, "retry_web_hook_events")
            for row, event_id, status in results:
                session.get(WebhookAttempt, event_id).status = -1 if status is None else status
                stored = session.get(WebhookDelivery, row.id)
                stored.attempts += 1
                stored.last_status = status
                retries_done = stored.attempts - 1
                if status is not None and 200 <= status < 300:
                    stored.state = "delivered"
                    stored.delivered_at = utcnow()
                elif (status is None or status in (404, 410) or not retry
                      or retries_done >= MAX_RETRY_COUNT):
                    stored.state = "failed"
                else:
                    delay = retry_delay_minutes(retries_done + 1) * self.minute
                    stored.next_attempt_at = utcnow() + timedelta(seconds=delay)

    # ------------------------------------------------------------------ tests
    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no attempt is due before TIMEOUT elapses and none is in flight."""
        if not self.enabled:
            return True
        deadline = time.monotonic() + timeout
        while True:
            self._wake.set()
            time.sleep(0.02)
            remaining = deadline - time.monotonic()
            wait = self._seconds_to_next()
            if not self._busy.is_set() and (wait is None or wait > remaining + 0.05):
                if wait is None or wait > 0:
                    return True
            if remaining <= 0:
                return False
