"""Links a person opens (mail footers, dashboard): the forum's HTML pages, not its API.

Discourse serves the same `/t/{slug}/{id}/{n}` to browsers and to the API. The local forum
answers those paths with JSON (a browser asking for HTML is redirected, but a mail client's
or a command line's `Accept: */*` gets a 403), so with FORUM_LINK_STYLE = "localforum" (the
demo) links go straight to its French HTML view `/ui/t/{id}#post_{n}`.
"""
from __future__ import annotations

from urllib.parse import quote


def topic_page_url(settings, topic_id: int, slug: str | None = None,
                   post_number: int | None = None) -> str:
    base = settings.FORUM_URL.rstrip("/")
    if settings.FORUM_LINK_STYLE == "localforum":
        url = f"{base}/ui/t/{int(topic_id)}"
        return url + (f"#post_{int(post_number)}" if post_number and post_number > 1 else "")
    url = f"{base}/t/{quote(slug or '-', safe='-_')}/{int(topic_id)}"
    return url + (f"/{int(post_number)}" if post_number and post_number > 1 else "")
