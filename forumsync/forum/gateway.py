"""ForumGateway: the one class that talks to Discourse.

Built on pydiscourse's DiscourseClient, fixing its gaps in this one place:
- a shared ``requests.Session`` (connection reuse) with connect/read timeouts;
- 429 answers wait for ``Retry-After`` (or ``extras.wait_seconds``) up to ``max_wait``;
- bounded retries with exponential backoff on 5xx and connection errors, none on 4xx;
- typed exceptions (ForumUnavailable is transient, ForumRejected carries Discourse's messages);
- ``user_by_email`` URL-encoded and exact-matched; ``external_id`` lookup through the redirect;
- request counters (``stats``) so idempotency can be tested by counting writes.
"""
from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from datetime import datetime
from urllib.parse import quote, urlsplit

import requests
from pydiscourse import DiscourseClient

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
CATEGORIES_PER_PAGE = 20  # Discourse's CategoryList::CATEGORIES_PER_PAGE
WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}


class ForumError(Exception):
    """Base of every error the gateway raises."""

    def __init__(self, message: str, status: int | None = None, errors: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.errors = errors or []


class ForumUnavailable(ForumError):
    """Transient: timeout, connection refused, 5xx, or rate limited longer than we wait."""


class ForumRejected(ForumError):
    """The forum refused the request (4xx); retrying the same request will not help."""


class ForumNotFound(ForumRejected):
    """404: the object does not exist (or is not visible to this user)."""


class ForumPending(ForumError):
    """The forum accepted the post but holds it for approval (NewPostManager's ``enqueued``
    answer): there is no post, hence no id, until a moderator approves it. Not a refusal:
    posting it again (or as another account) would bypass the category's moderators."""

    def __init__(self, message: str, pending_id: int | None = None, pending_count: int | None = None):
        super().__init__(message, status=200)
        self.pending_id = pending_id
        self.pending_count = pending_count


def _created(body):
    """A POST /posts.json answer: the post, or ForumPending for an ``enqueued`` answer."""
    if isinstance(body, dict) and body.get("action") == "enqueued":
        pending = body.get("pending_post") or {}
        raise ForumPending("message en attente de validation par les modérateurs du forum",
                           pending_id=pending.get("id"), pending_count=body.get("pending_count"))
    return body


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


class ForumGateway(DiscourseClient):
    """pydiscourse client with a session, timeouts, retries and noun_verb methods."""

    def __init__(self, url: str, api_key: str, api_username: str, *, timeout: float = 10.0,
                 retries: int = 4, max_wait: float = 60.0, backoff: float = 0.5,
                 session: requests.Session | None = None, stats: Counter | None = None,
                 pacer=None):
        super().__init__(url.rstrip("/"), api_username=api_username, api_key=api_key,
                         timeout=timeout)
        self.url = url.rstrip("/")
        self.retries = retries
        self.max_wait = max_wait
        self.backoff = backoff
        self.session = session or requests.Session()
        self.stats = stats if stats is not None else Counter()
        self.pacer = pacer  # forumsync.forum.pacing.RequestPacer: the budget shared by all processes
        self._cache_lock = threading.Lock()
        self._user_cache: dict[str, dict | None] = {}
        self._capabilities: dict | None | bool = False  # False: not asked yet

    @classmethod
    def from_settings(cls, settings) -> "ForumGateway":
        return cls(settings.FORUM_URL, settings.FORUM_API_KEY, settings.FORUM_API_USERNAME,
                   timeout=settings.FORUM_TIMEOUT, retries=settings.FORUM_RETRIES,
                   max_wait=settings.FORUM_MAX_WAIT, backoff=settings.FORUM_BACKOFF)

    def as_user(self, username: str) -> "ForumGateway":
        """The same connection acting as another user (the admin key may act as anyone)."""
        clone = ForumGateway(self.url, self.api_key, username, timeout=self.timeout,
                             retries=self.retries, max_wait=self.max_wait, backoff=self.backoff,
                             session=self.session, stats=self.stats, pacer=self.pacer)
        clone._user_cache = self._user_cache
        clone._capabilities = self._capabilities
        return clone

    @property
    def host(self) -> str:  # pydiscourse reads self.host to build URLs
        return self.url

    @host.setter
    def host(self, value):
        self.url = value.rstrip("/")

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

    # ------------------------------------------------------------------ categories
    def category_list(self) -> list[dict]:
        """Every category, subcategories included, whether or not the forum lazy-loads them
        (CategoryList paginates by 20 with ``page`` and lists at most 5 children per parent:
        the others are read level by level with ``parent_category_id``)."""
        found: dict[int, dict] = {}

        def collect(items):
            for category in items:
                found.setdefault(category["id"], category)
                collect(category.get("subcategory_list") or [])

        collect(self._category_pages(include_subcategories="true"))
        queue = list(found.values())
        while queue:
            category = queue.pop(0)
            children = category.get("subcategory_ids") or []
            if any(child not in found for child in children):
                for child in self._category_pages(parent_category_id=category["id"]):
                    if child["id"] not in found:
                        found[child["id"]] = child
                        queue.append(child)
        return list(found.values())

    def _category_pages(self, **params) -> list[dict]:
        """Pages of /categories.json until one holds fewer than CATEGORIES_PER_PAGE categories
        of the level asked (a lazy-loaded page is full unless it is the last; without lazy
        loading page 1 has them all and page 2 is empty)."""
        items: list[dict] = []
        seen: set[int] = set()
        level = params.get("parent_category_id")
        for page in range(1, 1000):
            body = self._get("/categories.json", page=page, **params)
            batch = [c for c in body["category_list"]["categories"] if c["id"] not in seen]
            seen.update(c["id"] for c in batch)
            items.extend(batch)
            if sum(1 for c in batch if c.get("parent_category_id") == level) < CATEGORIES_PER_PAGE:
                break
        return items

    def category_get(self, category_id: int) -> dict:
        return self._get(f"/c/{int(category_id)}/show.json")["category"]

    def category_create(self, name, *, slug=None, color=None, text_color=None,
                        parent_category_id=None, description=None, permissions=None,
                        moderating_group_ids=None, custom_fields=None,
                        mailinglist_mirror=None) -> dict:
        """POST /categories.json; Discourse's category_params has no description: it is then
        written in the About topic (``category_description_set``)."""
        payload = {"name": name, "slug": slug, "color": color or "0088CC",
                   "text_color": text_color or "FFFFFF", "parent_category_id": parent_category_id,
                   "permissions": permissions, "moderating_group_ids": moderating_group_ids,
                   "custom_fields": custom_fields, "mailinglist_mirror": mailinglist_mirror}
        body = self._request("POST", "/categories.json",
                             json={k: v for k, v in payload.items() if v is not None})
        category = body["category"]
        if description:
            self.category_description_set(category, description)
        return category

    @staticmethod
    def _about_topic_id(category: dict) -> int | None:
        match = re.search(r"/(\d+)/?$", category.get("topic_url") or "")
        return int(match.group(1)) if match else None

    def _about_post(self, category) -> dict | None:
        if not isinstance(category, dict) or "topic_url" not in category:
            category = self.category_get(category if not isinstance(category, dict)
                                         else category["id"])
        topic_id = self._about_topic_id(category)
        if topic_id is None:
            return None
        return self._get(f"/posts/by_number/{topic_id}/1.json")

    def category_description_get(self, category) -> str | None:
        """The raw first post of the category's About topic (where Discourse keeps the
        description), None without an About topic. CATEGORY: an id or a category dict."""
        post = self._about_post(category)
        return None if post is None else post.get("raw")

    def category_description_set(self, category, raw: str) -> bool:
        """Write RAW as the About topic's first post; no write when it already says so."""
        post = self._about_post(category)
        if post is None:
            raise ForumRejected("la catégorie n'a pas de sujet « À propos » pour sa description")
        if (post.get("raw") or "").strip() == raw.strip():
            return False
        self.post_update(post["id"], raw)
        return True

    def category_update(self, category_id: int, **fields) -> dict:
        body = self._request("PUT", f"/categories/{int(category_id)}.json", json=fields)
        return body.get("category", body) if isinstance(body, dict) else body

    def category_topics(self, category_id: int, page: int = 0) -> list[dict]:
        body = self._get_following(f"/c/{int(category_id)}.json", page=page)
        return body["topic_list"]["topics"]

    # ------------------------------------------------------------------ topics and posts
    def topic_get(self, topic_id: int) -> dict:
        return self._get(f"/t/{int(topic_id)}.json")

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

    def topic_by_external_id(self, external_id: str) -> dict | None:
        """Discourse answers 301 to the topic's URL; follow it."""
        try:
            return self._get_following(f"/t/external_id/{quote(external_id, safe='')}.json")
        except ForumNotFound:
            return None

    @staticmethod
    def _date(value):
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    def topic_create(self, title, raw, category_id, *, created_at=None, external_id=None,
                     tags=None, **extra) -> dict:
        payload = {"title": title, "raw": raw, "category": category_id,
                   "created_at": self._date(created_at), "external_id": external_id,
                   "tags": list(tags) if tags else None, **extra}
        return _created(self._request("POST", "/posts.json",
                                      json={k: v for k, v in payload.items() if v is not None}))

    def post_create(self, topic_id, raw, *, reply_to_post_number=None, created_at=None,
                    **extra) -> dict:
        payload = {"topic_id": topic_id, "raw": raw, "reply_to_post_number": reply_to_post_number,
                   "created_at": self._date(created_at), **extra}
        return _created(self._request("POST", "/posts.json",
                                      json={k: v for k, v in payload.items() if v is not None}))

    def post_get(self, post_id: int) -> dict:
        return self._get(f"/posts/{int(post_id)}.json")

    def post_update(self, post_id: int, raw: str, edit_reason: str = "") -> dict:
        body = self._request("PUT", f"/posts/{int(post_id)}.json",
                             json={"post": {"raw": raw, "edit_reason": edit_reason}})
        return body.get("post", body) if isinstance(body, dict) else body

    def topic_update(self, topic_id: int, *, title=None, category_id=None, tags=None) -> dict:
        payload = {"title": title, "category_id": category_id,
                   "tags": list(tags) if tags is not None else None}
        body = self._request("PUT", f"/t/-/{int(topic_id)}.json",
                             json={k: v for k, v in payload.items() if v is not None})
        return body.get("basic_topic", body) if isinstance(body, dict) else body

    def topic_status_set(self, topic_id: int, status: str, enabled: bool) -> dict:
        return self._request("PUT", f"/t/{int(topic_id)}/status.json",
                             json={"status": status, "enabled": "true" if enabled else "false"})

    # ------------------------------------------------------------------ users
    def user_by_email(self, email: str) -> dict | None:
        """The active or staged user with exactly this email (cached for this gateway)."""
        key = email.strip().lower()
        with self._cache_lock:
            if key in self._user_cache:
                return self._user_cache[key]
        users = self._get("/admin/users/list/all.json", email=key) or []
        match = next((u for u in users if (u.get("email") or "").lower() == key), None)
        if match is None and len(users) == 1 and "email" not in users[0]:
            match = users[0]
        with self._cache_lock:
            self._user_cache[key] = match
        return match

    def users_by_email_prefetch(self, emails) -> int:
        """Learn the users of EMAILS in one request (plugin's POST /forumsync/users/by-email.json,
        capability ``users_by_email``), so that ``user_by_email`` answers them from its cache;
        200 addresses a request. Returns how many addresses were asked."""
        with self._cache_lock:
            wanted = list(dict.fromkeys(e.strip().lower() for e in emails
                                        if e and e.strip() and e.strip().lower() not in self._user_cache))
        for start in range(0, len(wanted), 200):
            chunk = wanted[start:start + 200]
            found = self._request("POST", "/forumsync/users/by-email.json", json={"emails": chunk})
            users = (found or {}).get("users") or {}
            with self._cache_lock:
                for key in chunk:
                    user = users.get(key)
                    self._user_cache[key] = user if isinstance(user, dict) else None
        return len(wanted)

    def user_list(self, flag: str = "active", page: int = 1) -> list[dict]:
        """One page (100) of GET /admin/users/list/{flag}.json (admin key; items carry email,
        name, admin, moderator, staged)."""
        return self._get(f"/admin/users/list/{quote(flag, safe='')}.json", page=int(page),
                         show_emails="true") or []

    def user_get(self, username: str) -> dict | None:
        try:
            return self._get(f"/u/{quote(username, safe='')}.json")["user"]
        except ForumNotFound:
            return None

    def user_email_get(self, username: str) -> str | None:
        """The primary email of USERNAME (admin key); None when the user is unknown."""
        try:
            return self._get(f"/u/{quote(username, safe='')}/emails.json").get("email")
        except ForumNotFound:
            return None

    def user_create(self, name, username, email, password, *, active=True, approved=True,
                    **extra) -> dict:
        body = self._request("POST", "/users.json", json={
            "name": name, "username": username, "email": email, "password": password,
            "active": active, "approved": approved, **extra})
        with self._cache_lock:
            self._user_cache.pop(email.strip().lower(), None)
        if isinstance(body, dict) and body.get("success") is False:
            raise ForumRejected(body.get("message") or "création de compte refusée",
                                errors=[body.get("message", "")])
        return body

    # ------------------------------------------------------------------ groups
    def group_list(self) -> list[dict]:
        return self._get("/groups.json")["groups"]

    def group_get(self, name: str) -> dict | None:
        try:
            return self._get(f"/groups/{quote(name, safe='')}.json")["group"]
        except ForumNotFound:
            return None

    def group_create(self, name: str, full_name: str = "", **fields) -> dict:
        body = self._request("POST", "/admin/groups.json",
                             json={"group": {"name": name, "full_name": full_name, **fields}})
        return body.get("basic_group", body)

    def group_update(self, group_id: int, **fields) -> dict:
        return self._request("PUT", f"/groups/{int(group_id)}.json", json={"group": fields})

    def group_members(self, name: str) -> dict:
        body = self._get(f"/groups/{quote(name, safe='')}/members.json", limit=1000)
        return {"members": body.get("members", []), "owners": body.get("owners", [])}

    def group_members_add(self, group_id: int, usernames: list[str], owners: bool = False):
        """GroupsController#add_members / #add_owners both read a top-level ``usernames``."""
        path = f"/groups/{int(group_id)}/owners.json" if owners else f"/groups/{int(group_id)}/members.json"
        return self._request("PUT", path, json={"usernames": ",".join(usernames)})

    # ------------------------------------------------------------------ uploads, tags, settings
    def upload_create(self, filename: str, data: bytes, content_type: str | None = None) -> dict:
        files = {"file": (filename, data, content_type or "application/octet-stream")}
        return self._request("POST", "/uploads.json", files=files,
                             data={"type": "composer", "synchronous": "true"})

    def tag_list(self) -> list[dict]:
        return self._get("/tags.json").get("tags", [])

    def site_setting_get(self, name: str):
        body = self._get("/admin/site_settings.json", filter_names=name)
        for setting in body.get("site_settings", []):
            if setting.get("setting") == name:
                return setting.get("value")
        return None

    def site_setting_set(self, name: str, value) -> None:
        """PUT /admin/site_settings/{name} (admin key)."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        self._request("PUT", f"/admin/site_settings/{quote(name, safe='')}.json",
                      json={name: value})

    # ------------------------------------------------------------------ discourse-forumsync plugin
    def capabilities(self) -> dict | None:
        """The plugin's capabilities, or None when the forum does not have it (cached)."""
        if self._capabilities is False:
            try:
                self._capabilities = self._get("/forumsync/capabilities.json")
            except ForumNotFound:
                self._capabilities = None
            except ForumRejected:
                self._capabilities = None
        return self._capabilities

    def has_feature(self, feature: str) -> bool:
        caps = self.capabilities()
        return bool(caps) and feature in (caps.get("features") or [])

    def staged_post_create(self, *, email, name, raw, message_id, topic_id=None, title=None,
                           category_id=None, reply_to_post_number=None, created_at=None,
                           external_id=None, tags=None, files=None) -> dict:
        """The plugin's POST /forumsync/posts.json. FILES, ``[(filename, bytes, type)]``, go in
        the same multipart request (``forumsync-file:N`` in RAW names the Nth): one call for a
        mail and its attachments (capability ``post_files``)."""
        payload = {"email": email, "name": name, "raw": raw, "message_id": message_id,
                   "topic_id": topic_id, "title": title, "category": category_id,
                   "reply_to_post_number": reply_to_post_number,
                   "created_at": self._date(created_at), "external_id": external_id,
                   "tags": list(tags) if tags else None}
        payload = {k: v for k, v in payload.items() if v is not None}
        if not files:
            return self._request("POST", "/forumsync/posts.json", json=payload)
        form = [(f"{k}[]" if isinstance(v, list) else k, item)
                for k, v in payload.items() for item in (v if isinstance(v, list) else [v])]
        parts = [("files[]", (filename, data, content_type or "application/octet-stream"))
                 for filename, data, content_type in files]
        return self._request("POST", "/forumsync/posts.json", data=form, files=parts)

    def staged_posts_batch(self, items: list[dict], *, staged_only: bool = False,
                           stop_at_refusal: bool = False) -> list[dict]:
        """The plugin's POST /forumsync/posts/batch.json (capability ``batch_posts``): ITEMS
        are staged_post_create's keyword arguments (plus ``reply_to_message_id``,
        ``reply_to_post_id``), created in order in one request; returns one result per item,
        ``status`` then the single endpoint's body (success) or ``errors``/``error_type``."""
        posts, parts = [], []
        for index, item in enumerate(items):
            payload = {**item, "created_at": self._date(item.get("created_at"))}
            if "category_id" in payload:
                payload["category"] = payload.pop("category_id")
            files = payload.pop("files", None) or ()
            parts += [(f"files[{index}][]", (name, data, kind or "application/octet-stream"))
                      for name, data, kind in files]
            posts.append({k: (list(v) if k == "tags" else v) for k, v in payload.items()
                          if v is not None and v != []})
        if not parts:
            body = self._request("POST", "/forumsync/posts/batch.json",
                                 json={"posts": posts, "staged_only": staged_only,
                                       "stop_at_refusal": stop_at_refusal})
        else:
            from json import dumps

            # The list travels as a JSON part of its own: form fields have small size limits
            # (Werkzeug 500 KB), file parts do not.
            listing = ("posts", ("posts.json", dumps(posts, ensure_ascii=False).encode("utf-8"),
                                 "application/json"))
            body = self._request("POST", "/forumsync/posts/batch.json",
                                 data=[("staged_only", "true" if staged_only else "false"),
                                       ("stop_at_refusal", "true" if stop_at_refusal else "false")],
                                 files=[listing] + parts)
        self.stats["batch_items"] += len(items)
        return body["posts"]

    def post_by_message_id(self, message_id: str) -> dict | None:
        try:
            return self._get("/forumsync/posts/by-message-id.json", message_id=message_id)
        except ForumNotFound:
            return None
