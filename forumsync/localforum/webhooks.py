"""Outgoing Discourse webhooks: a durable queue table drained by one background thread.

The API only inserts a row (in the same transaction as the change); this thread signs and
POSTs it with Discourse's headers, retrying with backoff, so delivery never blocks a request
and survives a receiver that is down for a while.
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
from sqlalchemy import select

from .models import WebhookDelivery, utcnow

log = logging.getLogger("forumsync.localforum.webhooks")
MAX_ATTEMPTS = 8


def sign(secret: str, body: bytes) -> str:
    """X-Discourse-Event-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDeliverer:
    """Delivers queued events to URL; ``sent`` lists every attempt (for tests)."""

    def __init__(self, store, url: str | None, secret: str, instance: str, timeout: float = 5.0,
                 retry_base: float = 0.2):
        self.store = store
        self.url = url
        self.secret = secret
        self.instance = instance
        self.timeout = timeout
        self.retry_base = retry_base
        self.sent: list[dict] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
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

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                pending = self.deliver_pending()
            except Exception:  # keep the thread alive whatever the database says
                log.exception("webhook delivery loop failed")
                pending = True
            if not pending:
                self._idle.set()
            self._wake.wait(0.5 if not pending else self.retry_base)

    def _due(self) -> list[WebhookDelivery]:
        with self.store.session() as session:
            return list(session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.delivered_at.is_(None),
                                              WebhookDelivery.attempts < MAX_ATTEMPTS,
                                              WebhookDelivery.next_attempt_at <= utcnow())
                .order_by(WebhookDelivery.id).limit(50)))

    def _pending_count(self) -> int:
        with self.store.sessionmaker() as session:
            return len(list(session.scalars(select(WebhookDelivery.id).where(
                WebhookDelivery.delivered_at.is_(None),
                WebhookDelivery.attempts < MAX_ATTEMPTS))))

    def deliver_pending(self) -> bool:
        """Send what is due; True while something is still waiting to be delivered."""
        for row in self._due():
            if self._stop.is_set():
                return True
            self._deliver(row)
        return self._pending_count() > 0

    def _deliver(self, row: WebhookDelivery) -> None:
        body = row.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "*/*",
            "User-Agent": "Discourse Forum Webhooks",
            "X-Discourse-Instance": self.instance,
            "X-Discourse-Event-Id": str(row.id),
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
            self.sent.append({"id": row.id, "event": row.event, "event_type": row.event_type,
                              "headers": headers, "body": body, "payload": json.loads(body),
                              "status": status})
        with self.store.sessionmaker() as session, session.begin():
            stored = session.get(WebhookDelivery, row.id)
            stored.attempts += 1
            stored.last_status = status
            if status is not None and 200 <= status < 300:
                stored.delivered_at = utcnow()
            else:
                delay = min(self.retry_base * (2 ** stored.attempts), 30.0)
                stored.next_attempt_at = utcnow() + timedelta(seconds=delay)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing deliverable is pending (tests)."""
        if not self.enabled:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._wake.set()
            if self._pending_count() == 0:
                return True
            time.sleep(0.02)
        return False
