"""The gateway's core: one forum connection, and how a request is sent and its answer read.

Holds a pydiscourse ``DiscourseClient`` (composition, not inheritance: none of its 94 endpoint
methods is part of our API) for the connection's identity — host, API key, acting username,
timeout — and sends each request itself, because pydiscourse's own ``_request`` has what we
need to fix in one place: it opens a connection per request (no ``requests.Session``), sleeps
on 429 with a fixed policy of its own, raises on redirects and on any JSON content type but
``application/json; charset=utf-8``. Here:

- a shared ``requests.Session`` (connection reuse) with connect/read timeouts;
- 429 answers wait for ``Retry-After`` (or ``extras.wait_seconds``) up to ``max_wait``, and
  tell the shared pacer (``pacing.py``);
- bounded retries with exponential backoff on 5xx and connection errors, none on 4xx;
- typed exceptions (``errors.py``; a 4xx becomes the refusal ``refusals.py`` picks);
- request counters (``stats``) so idempotency can be tested by counting writes;
- the facts cache (``facts.py``) and user cache shared by the clones ``as_user`` makes.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from datetime import datetime
from urllib.parse import urlsplit

import requests
from pydiscourse import DiscourseClient

from .errors import ForumNotFound, ForumRejected, ForumUnavailable
from .facts import ForumFacts

log = logging.getLogger(__name__)

WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}


def _error_messages(response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, dict):
        errors = body.get("errors") or []
        if isinstance(errors, list):
            return [str(e) for e in errors]
        return [str(errors)]
    return []


def _retry_after(response) -> float:
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    try:
        return float(response.json()["extras"]["wait_seconds"])
    except (ValueError, KeyError, TypeError):
        return 10.0


class _Identity:
    """An attribute of the connection kept by the held DiscourseClient (named NAME there)."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, client, owner=None):
        return self if client is None else getattr(client.discourse, self.name)

    def __set__(self, client, value):
        setattr(client.discourse, self.name, value)


class ForumClient:
    """One connection to the forum: identity, session, retries, pacing, decoding, caches."""

    def __init__(self, url: str, api_key: str, api_username: str, *, timeout: float = 10.0,
                 retries: int = 4, max_wait: float = 60.0, backoff: float = 0.5,
                 session: requests.Session | None = None, stats: Counter | None = None,
                 pacer=None):
        self.discourse = DiscourseClient(url.rstrip("/"), api_username=api_username,
                                         api_key=api_key, timeout=timeout)
        self.retries = retries
        self.max_wait = max_wait
        self.backoff = backoff
        self.session = session or requests.Session()
        self.stats = stats if stats is not None else Counter()
        self.pacer = pacer  # forumsync.forum.pacing.RequestPacer: the budget shared by all processes
        self._cache_lock = threading.Lock()
        self._user_cache: dict[str, dict | None] = {}
        self.facts = ForumFacts(self)  # categories, capabilities and other rarely changing facts
        self.server_date = None  # the HTTP Date of the last answer: the forum's clock (catch-up)

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.FORUM_URL, settings.FORUM_API_KEY, settings.FORUM_API_USERNAME,
                   timeout=settings.FORUM_TIMEOUT, retries=settings.FORUM_RETRIES,
                   max_wait=settings.FORUM_MAX_WAIT, backoff=settings.FORUM_BACKOFF)

    def as_user(self, username: str):
        """The same connection acting as another user (the admin key may act as anyone):
        same session, counters, pacer, user cache and facts."""
        clone = type(self)(self.url, self.api_key, username, timeout=self.timeout,
                           retries=self.retries, max_wait=self.max_wait, backoff=self.backoff,
                           session=self.session, stats=self.stats, pacer=self.pacer)
        clone._user_cache = self._user_cache
        clone.facts = self.facts
        return clone

    # The connection's identity is the DiscourseClient's.
    url = _Identity("host")
    api_key = _Identity("api_key")
    api_username = _Identity("api_username")
    timeout = _Identity("timeout")

    # ------------------------------------------------------------------ transport
    def _request(self, verb, path, params=None, files=None, data=None, json=None,
                 override_request_kwargs=None, allow_redirects=False):
        """Send one API request with timeouts, retries and Retry-After handling."""
        url = self.url + path
        headers = {"Accept": "application/json; charset=utf-8", "Api-Key": self.api_key,
                   "Api-Username": self.api_username}
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            if self.pacer is not None:  # FORUM_MAX_REQUESTS_PER_MINUTE, shared through the database
                self.stats["paced_seconds"] += self.pacer.take()
            self.stats["requests"] += 1
            self.stats[verb] += 1
            if verb in WRITE_METHODS:
                self.stats["writes"] += 1
            kwargs = dict(params=params, files=files, data=data, json=json, headers=headers,
                          timeout=(min(5.0, self.timeout), self.timeout),
                          allow_redirects=allow_redirects)
            kwargs.update(override_request_kwargs or {})
            try:
                response = self.session.request(verb, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:  # forum died mid-answer
                if attempt > self.retries:
                    raise ForumUnavailable(f"forum injoignable ({verb} {path}) : {exc.__class__.__name__}") from None
                self._sleep_backoff(attempt)
                continue
            self.server_date = _http_date(response.headers.get("Date"))  # the forum's clock
            status = response.status_code
            if status == 429:
                wait = _retry_after(response)
                self.stats["429"] += 1
                if self.pacer is not None:
                    self.pacer.penalize(wait)
                if waited + wait > self.max_wait:
                    raise ForumUnavailable(
                        f"forum limité en débit (429), attente demandée {wait:.0f} s", status=429,
                        errors=_error_messages(response))
                log.info("forum : 429 sur %s %s, attente de %.1f s", verb, path, wait)
                time.sleep(wait)
                waited += wait
                continue
            if status >= 500:
                if attempt > self.retries:
                    raise ForumUnavailable(f"erreur du forum {status} ({verb} {path})", status=status,
                                           errors=_error_messages(response))
                self._sleep_backoff(attempt)
                continue
            return self._decode(verb, path, response)

    def _sleep_backoff(self, attempt: int) -> None:
        delay = min(self.backoff * (2 ** (attempt - 1)), 30.0)
        time.sleep(delay * (0.5 + random.random() / 2))

    def _decode(self, verb, path, response):
        status = response.status_code
        if 300 <= status < 400:
            return {"_redirect": response.headers.get("Location", ""), "_status": status}
        if status >= 400:
            errors = _error_messages(response)
            message = "; ".join(errors) or f"HTTP {status}"
            from .refusals import error_type_of, refusal  # typed: callers never parse the text
            raise refusal(f"refus du forum ({verb} {path}, {status}) : {message}", status, errors,
                          error_type_of(response))
        if not response.content.strip():
            return None
        content_type = response.headers.get("Content-Type", "")
        if not content_type.startswith("application/json"):
            raise ForumRejected(f"réponse inattendue du forum ({content_type}) pour {verb} {path}",
                                status=status)
        try:
            body = response.json()
        except ValueError:
            raise ForumUnavailable(f"réponse JSON illisible du forum pour {verb} {path}") from None
        if isinstance(body, dict) and body.get("errors") and body.get("success") is not True:
            from .refusals import refusal

            raise refusal("; ".join(map(str, body["errors"])), status, list(map(str, body["errors"])),
                          body.get("error_type"))
        return body

    # ------------------------------------------------------------------ helpers for the calls
    def _get(self, path: str, **params):
        """GET PATH with PARAMS as the query string (pydiscourse's ``_get`` signature)."""
        return self._request("GET", path, params=params)

    def _get_or_none(self, path: str, **params):
        """GET PATH; None when the forum answers 404."""
        try:
            return self._get(path, **params)
        except ForumNotFound:
            return None

    def _get_following(self, path: str, **params):
        """GET that follows Discourse's redirects to canonical URLs (pydiscourse can't)."""
        answer = self._get(path, **params)
        for _ in range(3):
            if not (isinstance(answer, dict) and "_redirect" in answer):
                break
            target = urlsplit(answer["_redirect"])
            path = target.path if target.path.endswith(".json") else target.path + ".json"
            answer = self._get(path, **params)
        return answer

    @staticmethod
    def _date(value):
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    @staticmethod
    def _present(payload: dict) -> dict:
        """PAYLOAD without its None values (Discourse reads an absent key as "not given")."""
        return {k: v for k, v in payload.items() if v is not None}


def _http_date(value):
    """An HTTP ``Date`` header as an aware datetime, else None."""
    if not value:
        return None
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None
