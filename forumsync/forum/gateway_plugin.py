"""The gateway's calls to the discourse-forumsync plugin (``plugin/``; see ``gateway.py``).

Ask ``has_feature(name)`` before using an endpoint: a forum without the plugin (or with an
older one) answers the capabilities without that feature, and the callers fall back to
Discourse's own API.
"""
from __future__ import annotations

from json import dumps

from .errors import ForumRejected

CAPABILITIES = "plugin.capabilities"  # facts entry, kept for the connection's life
# A batch request waits FORUM_TIMEOUT per this many posts: the forum creates them one after the
# other (Discourse's unicorn still ends a request after 30 s: config/unicorn.conf.rb).
POSTS_PER_TIMEOUT = 50


class PluginCalls:
    """Capabilities, staged posting (one mail, or a batch), lookups by Message-ID or email."""

    def capabilities(self) -> dict | None:
        """The plugin's capabilities, or None when the forum does not have it (cached, shared
        by the ``as_user`` clones)."""
        return self.facts.remember(CAPABILITIES, float("inf"), self._read_capabilities)

    @staticmethod
    def _read_capabilities(gateway) -> dict | None:
        try:  # admins only (the plugin's ensure_admin): read by the configured account
            return gateway._get("/forumsync/capabilities.json")
        except ForumRejected:  # 404 (no plugin) or 403: no plugin for us
            return None

    def has_feature(self, feature: str) -> bool:
        """The plugin is there and says it does FEATURE (``staged_posts``, ``post_files``,
        ``message_id_lookup``, ``category_fields``, ``batch_posts``, ``users_by_email``,
        ``username_hint``)."""
        caps = self.capabilities()
        return bool(caps) and feature in (caps.get("features") or [])

    def staged_post_create(self, *, email, name, raw, message_id, topic_id=None, title=None,
                           category_id=None, reply_to_post_number=None, created_at=None,
                           external_id=None, tags=None, files=None, username_hint=None) -> dict:
        """The plugin's POST /forumsync/posts.json. FILES, ``[(filename, bytes, type)]``, go in
        the same multipart request (``forumsync-file:N`` in RAW names the Nth): one call for a
        mail and its attachments (capability ``post_files``). USERNAME_HINT: what a new staged
        user's username is made from instead of NAME (capability ``username_hint``; a plugin
        without it ignores the field and makes the username from NAME)."""
        payload = self._present({
            "email": email, "name": name, "username_hint": username_hint, "raw": raw,
            "message_id": message_id,
            "topic_id": topic_id, "title": title, "category": category_id,
            "reply_to_post_number": reply_to_post_number, "created_at": self._date(created_at),
            "external_id": external_id, "tags": list(tags) if tags else None})
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
        wait = {"timeout": (min(5.0, self.timeout), self.timeout * max(1.0, len(items) / POSTS_PER_TIMEOUT))}
        if not parts:
            body = self._request("POST", "/forumsync/posts/batch.json",
                                 json={"posts": posts, "staged_only": staged_only,
                                       "stop_at_refusal": stop_at_refusal}, override_request_kwargs=wait)
        else:
            # The list travels as a JSON part of its own: form fields have small size limits
            # (Werkzeug 500 KB), file parts do not.
            listing = ("posts", ("posts.json", dumps(posts, ensure_ascii=False).encode("utf-8"),
                                 "application/json"))
            body = self._request("POST", "/forumsync/posts/batch.json",
                                 data=[("staged_only", "true" if staged_only else "false"),
                                       ("stop_at_refusal", "true" if stop_at_refusal else "false")],
                                 files=[listing] + parts, override_request_kwargs=wait)
        self.stats["batch_items"] += len(items)
        return body["posts"]

    def post_by_message_id(self, message_id: str) -> dict | None:
        return self._get_or_none("/forumsync/posts/by-message-id.json", message_id=message_id)

    def users_by_email_prefetch(self, emails) -> int:
        """Learn the users of EMAILS in one request (POST /forumsync/users/by-email.json,
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
