"""The gateway's topic, post, upload, tag and site-setting calls (see ``gateway.py``)."""
from __future__ import annotations

from urllib.parse import quote

from .errors import ForumNotFound, ForumPending


def created(body):
    """A POST /posts.json answer: the post, or ForumPending for an ``enqueued`` answer."""
    if isinstance(body, dict) and body.get("action") == "enqueued":
        pending = body.get("pending_post") or {}
        raise ForumPending("message en attente de validation par les modérateurs du forum",
                           pending_id=pending.get("id"), pending_count=body.get("pending_count"))
    return body


def tag_objects(tags) -> list[dict]:
    """Tags as Discourse takes them since 2026.01: objects, here a name without id (the tag may
    not exist yet); names as strings are deprecated (PostsController#create_params,
    TopicsController#resolve_tag_names)."""
    return [{"name": str(name)} for name in tags]


class PostCalls:
    """Topics and posts through Discourse's own API, plus uploads, tags and site settings."""

    def topic_get(self, topic_id: int) -> dict:
        return self._get(f"/t/{int(topic_id)}.json")

    def topic_by_external_id(self, external_id: str) -> dict | None:
        """Discourse answers 301 to the topic's URL; follow it."""
        try:
            return self._get_following(f"/t/external_id/{quote(external_id, safe='')}.json")
        except ForumNotFound:
            return None

    def topic_create(self, title, raw, category_id, *, created_at=None, external_id=None,
                     tags=None, **extra) -> dict:
        payload = {"title": title, "raw": raw, "category": category_id,
                   "created_at": self._date(created_at), "external_id": external_id,
                   "tags": tag_objects(tags) if tags else None, **extra}
        return created(self._request("POST", "/posts.json", json=self._present(payload)))

    def post_create(self, topic_id, raw, *, reply_to_post_number=None, created_at=None,
                    **extra) -> dict:
        payload = {"topic_id": topic_id, "raw": raw, "reply_to_post_number": reply_to_post_number,
                   "created_at": self._date(created_at), **extra}
        return created(self._request("POST", "/posts.json", json=self._present(payload)))

    def post_get(self, post_id: int) -> dict:
        return self._get(f"/posts/{int(post_id)}.json")

    def posts_latest(self, before: int | None = None) -> list[dict]:
        """GET /posts.json: the newest public regular posts, newest first, 50 a page; BEFORE
        (a post id) gives the page below it (PostsController#latest). Used by forum/catchup.py."""
        body = self._get("/posts.json", **({"before": int(before)} if before else {}))
        return list(body.get("latest_posts") or []) if isinstance(body, dict) else []

    def post_update(self, post_id: int, raw: str, edit_reason: str = "") -> dict:
        body = self._request("PUT", f"/posts/{int(post_id)}.json",
                             json={"post": {"raw": raw, "edit_reason": edit_reason}})
        return body.get("post", body) if isinstance(body, dict) else body

    def topic_update(self, topic_id: int, *, title=None, category_id=None, tags=None) -> dict:
        payload = {"title": title, "category_id": category_id,
                   "tags": tag_objects(tags) if tags is not None else None}
        body = self._request("PUT", f"/t/-/{int(topic_id)}.json", json=self._present(payload))
        return body.get("basic_topic", body) if isinstance(body, dict) else body

    def topic_status_set(self, topic_id: int, status: str, enabled: bool) -> dict:
        return self._request("PUT", f"/t/{int(topic_id)}/status.json",
                             json={"status": status, "enabled": "true" if enabled else "false"})

    # ------------------------------------------------------------------ uploads, tags, settings
    def upload_create(self, filename: str, data: bytes, content_type: str | None = None) -> dict:
        files = {"file": (filename, data, content_type or "application/octet-stream")}
        return self._request("POST", "/uploads.json", files=files,
                             data={"type": "composer", "synchronous": "true"})

    def tag_list(self) -> list[dict]:
        return self._get("/tags.json").get("tags", [])

    def site_setting_get(self, name: str):
        return self.site_settings_get([name]).get(name)

    def site_settings_get(self, names) -> dict:
        """{name: value} of the site settings NAMES, in one request: ``filter_names[]`` as an
        array, which SiteSetting.all_settings matches exactly (a plain string would match any
        setting whose name it contains). A name the forum does not list is absent."""
        names = list(dict.fromkeys(names))
        body = self._get("/admin/site_settings.json", **{"filter_names[]": names})
        return {setting.get("setting"): setting.get("value") for setting in body.get("site_settings", [])
                if setting.get("setting") in names}

    def site_setting_set(self, name: str, value) -> None:
        """PUT /admin/site_settings/{name} (admin key)."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        self._request("PUT", f"/admin/site_settings/{quote(name, safe='')}.json",
                      json={name: value})
