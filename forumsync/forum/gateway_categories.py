"""The gateway's category calls (``ForumGateway`` inherits them; see ``gateway.py``)."""
from __future__ import annotations

import re

from ..raw_form import stored_raw
from .errors import ForumRejected

CATEGORIES_PER_PAGE = 20  # Discourse's CategoryList::CATEGORIES_PER_PAGE


class CategoryCalls:
    """Categories: the full list (lazy loading included), one category, writes, descriptions.
    A write drops the gateway's cached category facts (``facts.invalidate_categories``)."""

    def category_list(self) -> list[dict]:
        """Every category, subcategories included, whether or not the forum lazy-loads them
        (CategoryList paginates by 20 with ``page`` and lists at most 5 children per parent:
        the others are read level by level with ``parent_category_id``). Uncached: read
        ``facts.categories()`` for the cached list."""
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
        body = self._request("POST", "/categories.json", json=self._present(payload))
        category = body["category"]
        self.facts.invalidate_categories()
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
        if stored_raw(post.get("raw")).strip() == stored_raw(raw).strip():  # as Discourse stores it
            return False
        self.post_update(post["id"], raw)
        return True

    def category_update(self, category_id: int, **fields) -> dict:
        body = self._request("PUT", f"/categories/{int(category_id)}.json", json=fields)
        self.facts.invalidate_categories()
        return body.get("category", body) if isinstance(body, dict) else body

    def category_topics(self, category_id: int, page: int = 0) -> list[dict]:
        body = self._get_following(f"/c/{int(category_id)}.json", page=page)
        return body["topic_list"]["topics"]
