"""Stage ``publish``: create the topic or the reply on the forum, then remember the mapping.

The forum write happens here, outside any database transaction; the mapping rows (PostLink,
TopicLink) are queued in ``msgdata["writes"]`` and committed by the runner together with the
inbox row's final state, in one short transaction.

Idempotency (a crash or a timeout between the forum write and that commit must not post
twice; the runner passes ``msgdata["attempt"]`` > 1 when a row is tried again):
- new topics carry ``external_id = topic_external_id(root id)``: a second attempt first asks
  ``topic_by_external_id`` and links the topic found instead of creating another;
- replies through the plugin are idempotent on the Message-ID (``post_by_message_id``);
- other replies end with an invisible marker ``<!-- forumsync <hash of the Message-ID> -->``;
  a second attempt reads the topic's last posts and links the one carrying the marker.

Leads at work, checked with one ``topic_get`` before each reply (once per topic and runner
batch: live mail comes in batches of one; a bulk import re-reads a topic per batch):
- topic moved to another category → follow it (TopicLink.category_id and theme updated);
- parent post moved/merged into another topic → ``post_get`` finds where it is now; the
  reply goes there and the parent's PostLink is updated;
- topic closed or archived → posted anyway by the bridge (admin) account, with a French
  notice mentioning the theme's lead group ``@animateurs-<slug>`` (the mention notifies it;
  no extra write). Admins may post in archived topics too: no archive lift;
- topic deleted → ``Quarantine`` with a French reason, never a new topic.
"""
from __future__ import annotations

import hashlib
import re
import threading
import weakref
from urllib.parse import unquote

from sqlalchemy import bindparam, insert, select, update

from ..forum.gateway import ForumNotFound, ForumPending, ForumRejected
from ..mail.html import safe_destination
from ..mail.ids import topic_external_id
from ..mail.inert import (discourse_parser, escape_fragment, inert_filename, inert_name, link_label,
                          live_syntax, neutralise_all_mentions, neutralise_mentions, strip_bidi)
from ..models import PostLink, TopicLink, utcnow
from . import author, categories, uploads
from .errors import Drop, Quarantine
from .msgdata import MsgData

RECONCILE_LAST_POSTS = 10
# Discourse's default max_post_length is 32,000 characters; leave room for notes and marker.
MAX_POST_CHARS = 30000  # when the forum does not tell its own max_post_length
_posters: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_limits: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # gateway → max post chars
_posters_lock = threading.Lock()


def process(ctx, msg, msgdata: MsgData) -> None:
    msgdata.setdefault("writes", [])
    try:
        if msgdata.get("topic_id") is None:
            _new_topic(ctx, msgdata)
        else:
            _reply(ctx, msgdata)
    except ForumPending as exc:
        # Held for approval (NewPostManager "enqueued"): no post, no id; never posted again
        # by another account (that would bypass the category's moderators).
        raise Drop(f"en attente de validation sur le forum (file d'approbation, élément "
                   f"{exc.pending_id}) : le message paraîtra s'il est approuvé") from None


# ---------------------------------------------------------------------- new topics
def _new_topic(ctx, msgdata) -> None:
    theme = msgdata.get("theme") or ctx.settings.DEFAULT_THEME
    category_id = categories.theme_category_id(ctx, theme)
    external_id = topic_external_id(msgdata.get("root_message_id") or msgdata["message_id"])
    if msgdata.get("attempt", 1) > 1 and _link_existing_topic(ctx, msgdata, external_id):
        return
    raw = _compose(ctx, msgdata)
    title = msgdata.get("title") or msgdata.get("subject") or "(sans objet)"

    def create(title, raw):
        if msgdata.get("staged"):
            return ctx.forum.staged_post_create(
                email=msgdata["from_email"], name=msgdata.get("from_name") or "", raw=raw,
                message_id=f"<{msgdata['message_id']}>", title=title, category_id=category_id,
                created_at=msgdata.get("date"), external_id=external_id,
                files=msgdata.get("post_files"))
        return _poster(ctx, msgdata["username"]).topic_create(
            title, raw, category_id, created_at=msgdata.get("date"), external_id=external_id)

    problems = _known_problems(ctx, raw, msgdata, title=title)
    while True:
        try:
            answer = create(*_fitted(ctx, msgdata, problems, title, raw))
            break
        except ForumRejected as exc:
            # Already there (a previous life of this database)? Link it.
            if not problems and _link_existing_topic(ctx, msgdata, external_id):
                return
            if _files_apart(msgdata):
                raw = _compose(ctx, msgdata)
                continue
            if _learn(problems, exc, with_title=True):
                continue
            if not _bridge_instead(ctx, msgdata, exc):
                raise
            raw = _compose(ctx, msgdata)
    post = _post_of(answer)
    _remember_post(msgdata, {"id": post["topic_id"], "category_id": category_id, "title": title,
                             "archetype": "regular",  # what access checks before a reply in it
                             "closed": False, "archived": False, "post_stream": {"stream": []}}, post)
    _done(ctx, msgdata, post, new_topic=dict(external_id=external_id, category_id=category_id,
                                                 theme=theme))


def _link_existing_topic(ctx, msgdata, external_id) -> bool:
    topic = ctx.forum.topic_by_external_id(external_id)
    if not topic:
        return False
    posts = (topic.get("post_stream") or {}).get("posts") or []
    first = posts[0] if posts else {"id": None, "post_number": 1}
    first = {"id": first.get("id"), "topic_id": topic["id"], "post_number": first.get("post_number", 1)}
    _done(ctx, msgdata, first, new_topic=dict(external_id=external_id,
                                              category_id=topic.get("category_id"),
                                              theme=msgdata.get("theme")))
    return True


# ---------------------------------------------------------------------- replies
def _reply(ctx, msgdata) -> None:
    try:
        _reply_in(ctx, msgdata, _live_topic(ctx, msgdata))
    except ForumNotFound:
        # The topic vanished since this batch looked at it: look again (follow or quarantine).
        (msgdata.get("batch") or {}).pop(("topic", msgdata["topic_id"]), None)
        _reply_in(ctx, msgdata, _live_topic(ctx, msgdata))


def _reply_in(ctx, msgdata, topic) -> None:
    closed = "archived" if topic.get("archived") else "closed" if topic.get("closed") else None
    if msgdata.get("attempt", 1) > 1:
        existing = _existing_reply(ctx, msgdata, topic)
        if existing:
            return _done(ctx, msgdata, existing, topic=topic)
    notice = _closed_notice(ctx, topic, closed) if closed else None
    if closed and (msgdata.get("staged") or msgdata.get("username") != ctx.settings.FORUM_API_USERNAME):
        # Only staff may post in a closed topic: the bridge (admin) account posts it.
        msgdata.update(staged=False, username=ctx.settings.FORUM_API_USERNAME,
                       attribution=author.attribution(ctx.settings, msgdata))
    raw = _compose(ctx, msgdata, notice)
    # Admins may post in closed and archived topics (TopicGuardian#can_create_post_on_topic?):
    # no archive lift, which would add two small-action posts per reply.
    answer = _post_reply(ctx, msgdata, topic, raw, notice)
    post = _post_of(answer)
    _remember_post(msgdata, topic, post)
    _done(ctx, msgdata, post, topic=topic)


def _post_reply(ctx, msgdata, topic, raw, notice=None) -> dict:
    problems = _known_problems(ctx, raw, msgdata)
    while True:
        try:
            return _post_reply_once(ctx, msgdata, topic, _fitted(ctx, msgdata, problems, None, raw)[1])
        except ForumNotFound:
            raise
        except ForumRejected as exc:
            if _files_apart(msgdata):
                raw = _compose(ctx, msgdata, notice)
                continue
            if _learn(problems, exc, with_title=False):
                continue
            if not _bridge_instead(ctx, msgdata, exc):
                raise
            raw = _compose(ctx, msgdata, notice)


def _files_apart(msgdata) -> bool:
    """The plugin refused a post sent with its files (a file too big, a forbidden extension…):
    True the first time, and the files are then uploaded one by one, so the refused one is
    named in the post and the others still make it."""
    if not msgdata.get("post_files") or msgdata.get("files_apart"):
        return False
    msgdata["files_apart"] = True
    return True


def _bridge_instead(ctx, msgdata, exc) -> bool:
    """The sender's account may not post there (403: category permissions, silenced…), or
    the plugin refuses to stage them for a reason we cannot fix (422: an address or a
    Message-ID it finds invalid): the bridge account posts it with the attribution line."""
    staged_refused = msgdata.get("staged") and exc.status == 422
    if not (exc.status == 403 or staged_refused) \
            or msgdata.get("username") == ctx.settings.FORUM_API_USERNAME:
        return False
    msgdata.update(staged=False, username=ctx.settings.FORUM_API_USERNAME,
                   attribution=author.attribution(ctx.settings, msgdata))
    return True


def _known_problems(ctx, raw: str, msgdata=None, title: str | None = None) -> set[str]:
    """Refusals we can foresee without a wasted write: a post longer than the forum allows;
    through the core API (not the plugin, whose PostCreator skip_validations checks no
    length) a title or body shorter than the forum's minimums (Discourse: 15 and 20)."""
    problems = {"body_long"} if len(raw) > _max_post_chars(ctx) else set()
    if msgdata is not None and not msgdata.get("staged"):
        minimums = _minimums(ctx)
        key = "min_first_post_length" if title is not None else "min_post_length"
        if minimums.get(key) and len(_measured(raw)) < minimums[key]:
            problems.add("body_short")
        if title is not None and minimums.get("min_topic_title_length") \
                and len(title.strip()) < minimums["min_topic_title_length"]:
            problems.add("title_short")
    return problems


def _measured(raw: str) -> str:
    """What Discourse measures against the minimum (StrippedLengthValidator: our HTML
    comment marker does not count, an emoji counts one, runs of dots or commas one)."""
    raw = re.sub(r"<!--(.*?)-->", "", raw, flags=re.S)
    raw = re.sub(r":\w+(:\w+)?:", "X", raw)
    return re.sub(r",{2,}", ",", re.sub(r"\.{2,}", "…", raw)).strip()


_minimums_by_gateway: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _minimums(ctx) -> dict:
    """The forum's length minimums (read once per gateway; {} when the key may not read
    site settings: the refusals are then learnt from the forum's answer)."""
    with _posters_lock:
        known = _minimums_by_gateway.get(ctx.forum)
    if known is None:
        known = {}
        for name in ("min_topic_title_length", "min_first_post_length", "min_post_length"):
            try:
                known[name] = int(ctx.forum.site_setting_get(name))
            except (ForumRejected, TypeError, ValueError):
                known = {}
                break
        with _posters_lock:
            _minimums_by_gateway[ctx.forum] = known
    return known


def _max_post_chars(ctx) -> int:
    """The forum's ``max_post_length`` (read once per gateway) minus room for our notes."""
    with _posters_lock:
        known = _limits.get(ctx.forum)
    if known is None:
        try:
            value = ctx.forum.site_setting_get("max_post_length")
        except ForumRejected:
            value = None
        try:
            known = max(2000, int(value) - 2000)
        except (TypeError, ValueError):
            known = MAX_POST_CHARS
        with _posters_lock:
            _limits[ctx.forum] = known
    return known


def _learn(problems: set[str], exc, with_title: bool) -> bool:
    """Record which of the forum's length/uniqueness rules refused the post (Discourse's
    defaults refuse titles under 15 characters, titles already used, posts under 20);
    False when the refusal is about something else or was already worked around."""
    text = " ".join(exc.errors or [str(exc)]).lower()
    found = set()
    if with_title and ("title" in text or "titre" in text):
        found.add("title_used" if ("already" in text or "déjà" in text) else "title_short")
    if ("body" in text or "corps" in text) and ("too long" in text or "trop long" in text):
        found.add("body_long")
    elif "body" in text or "corps" in text or "post is too short" in text:
        found.add("body_short")
    if not found - problems:
        return False
    problems |= found
    return True


def _fitted(ctx, msgdata, problems: set[str], title, raw) -> tuple[str | None, str]:
    """Title and body adjusted to the refusals learnt so far (unchanged when none)."""
    when = msgdata.get("date") or utcnow()
    if title is not None and "title_used" in problems:
        title = f"{title} ({ctx.settings.LIST_NAME}, {when:%d/%m/%Y %H:%M})"
    elif title is not None and "title_short" in problems:
        title = f"{title} ({ctx.settings.LIST_NAME}, {when:%d/%m/%Y})"
    if "body_short" in problems:
        raw = raw + (f"\n\n*(message bref transmis tel quel depuis la liste "
                     f"{ctx.settings.LIST_NAME} ; cette note le complète car le forum refuse "
                     f"les messages trop courts)*")
    if "body_long" in problems:
        raw = _shortened(ctx, msgdata, raw)
    return title, raw


def _shortened(ctx, msgdata, raw) -> str:
    """A post over the forum's maximum: the beginning, the whole text as an attachment (sent
    with the post through the plugin, else uploaded once per attempt), and the attachments'
    links, also those of inline images whose place was cut: nothing of the message is lost."""
    full = (msgdata.get("body") or raw).encode("utf-8")
    if _files_with_post(ctx, msgdata):
        files = msgdata.get("post_files") or []
        url = uploads.reference(ctx.forum, files, "message-complet.txt", full, "text/plain")
        msgdata["post_files"] = files
    else:
        if "full_text_url" not in msgdata:
            upload = ctx.forum.upload_create("message-complet.txt", full, "text/plain")
            msgdata["full_text_url"] = upload.get("short_url") or upload.get("url")
        url = msgdata["full_text_url"]
    note = (f"*Message tronqué (trop long pour le forum) : texte complet en pièce jointe "
            f"[message-complet.txt|attachment]({url}).*")
    head, tail = msgdata.get("post_head", raw), msgdata.get("post_tail") or ""
    inline = [(f"![{label}]({link})", link) for label, link in msgdata.get("inline_links") or ()]
    room = _max_post_chars(ctx) - len(note) - len(tail) - sum(len(md) + 1 for md, _ in inline)
    cut = head[:max(room, 0)]
    cut = cut[:cut.rfind("\n")] if "\n" in cut else cut
    lost = "\n".join(md for md, link in inline if link not in cut)
    parts = [p for p in (cut.rstrip(), note, lost, tail) if p]
    if not msgdata.get("staged"):
        parts.append(_marker(msgdata["message_id"]))
    return "\n\n".join(parts)


def _post_reply_once(ctx, msgdata, topic, raw) -> dict:
    if msgdata.get("staged"):
        return ctx.forum.staged_post_create(
            email=msgdata["from_email"], name=msgdata.get("from_name") or "", raw=raw,
            message_id=f"<{msgdata['message_id']}>", topic_id=topic["id"],
            reply_to_post_number=msgdata.get("reply_to_post_number"), created_at=msgdata.get("date"),
            files=msgdata.get("post_files"))
    return _poster(ctx, msgdata["username"]).post_create(
        topic["id"], raw, reply_to_post_number=msgdata.get("reply_to_post_number"),
        created_at=msgdata.get("date"))


def _live_topic(ctx, msgdata) -> dict:
    """The topic to reply in, as it is now on the forum (following moved posts)."""
    topic_id = msgdata["topic_id"]
    topic = _topic_or_none(ctx, topic_id, msgdata)
    parent_id = msgdata.get("parent_post_id")
    stream = ((topic or {}).get("post_stream") or {}).get("stream")
    if parent_id and (topic is None or (stream is not None and parent_id not in stream)):
        try:
            parent = ctx.forum.post_get(parent_id)
        except ForumNotFound:
            parent = None
        if parent and not parent.get("deleted_at") and parent.get("topic_id") != topic_id:
            moved_to = _topic_or_none(ctx, parent["topic_id"], msgdata)
            if moved_to is not None:
                msgdata.update(topic_id=moved_to["id"], reply_to_post_number=parent.get("post_number"),
                               thread_reason=msgdata.get("thread_reason", "") +
                               f" ; message parent déplacé du sujet {topic_id} vers {moved_to['id']}")
                msgdata["writes"].append(lambda session: _move_post_link(
                    session, parent_id, moved_to["id"], parent.get("post_number")))
                return moved_to
    if topic is None:
        raise Quarantine(f"le sujet {topic_id} a été supprimé sur le forum : message mis de côté "
                         "au lieu d'ouvrir un nouveau sujet (à republier par un opérateur)")
    return topic


def _topic_or_none(ctx, topic_id, msgdata=None) -> dict | None:
    """The live topic, read once per runner batch (``msgdata["batch"]``): a bulk import does
    not re-read a busy topic for every reply; live mail (batches of one) always reads it."""
    cache = (msgdata or {}).get("batch")
    if cache is not None and ("topic", topic_id) in cache:
        return cache[("topic", topic_id)]
    try:
        topic = ctx.forum.topic_get(topic_id)
    except ForumNotFound:
        topic = None
    if topic is not None and topic.get("deleted_at"):
        topic = None
    if cache is not None and topic is not None:
        cache[("topic", topic_id)] = topic
    return topic


def _remember_post(msgdata, topic: dict | None, post: dict) -> None:
    """Keep the batch's view of a topic current after we posted in it."""
    if topic is None or msgdata.get("batch") is None:
        return
    topic.setdefault("post_stream", {}).setdefault("stream", []).append(post["id"])
    msgdata["batch"][("topic", topic["id"])] = topic


def _move_post_link(session, post_id, topic_id, post_number) -> None:
    link = session.scalars(select(PostLink).where(PostLink.post_id == post_id)).first()
    if link is not None:
        link.topic_id = topic_id
        if post_number:
            link.post_number = post_number


def _closed_notice(ctx, topic, closed) -> str:
    theme = categories.theme_of_category(ctx, topic.get("category_id"))
    if theme is None:
        with ctx.db.session() as session:
            theme = session.scalar(select(TopicLink.theme).where(TopicLink.topic_id == topic["id"]))
    theme = theme or ctx.settings.DEFAULT_THEME
    state = "archivé" if closed == "archived" else "fermé"
    group = f" @animateurs-{theme}, pour information." if theme else ""
    return (f"*Sujet {state} sur le forum : ce message reçu par la liste y est publié quand "
            f"même.{group}*")


def _existing_reply(ctx, msgdata, topic) -> dict | None:
    """A reply a previous attempt already created (see the module docstring)."""
    if ctx.forum.capabilities():
        post = ctx.forum.post_by_message_id(f"<{msgdata['message_id']}>")
        if post:
            return post
    marker = _marker(msgdata["message_id"])
    stream = (topic.get("post_stream") or {}).get("stream") or []
    for post_id in reversed(stream[-RECONCILE_LAST_POSTS:]):
        try:
            post = ctx.forum.post_get(post_id)
        except ForumNotFound:
            continue
        if marker in (post.get("raw") or ""):
            return post
    return None


# ---------------------------------------------------------------------- composing
_LEFTOVER_CID = re.compile(r"!\[([^\]\n]*)\]\(cid:[^)\s]*\)")
_QUOTE_START = re.compile(r"^([ \t]*(?:(?:>|[-*+]|\d{1,9}[.)])[ \t]*)*)\[(quote)", re.I | re.M)
NOTES_SHARE = 2  # attachment links and notes may take at most 1/NOTES_SHARE of the post


def _compose(ctx, msgdata, notice: str | None = None) -> str:
    """The post's Markdown: notice, attribution, body, attachments, refusal notes, marker.

    Everything but the notice comes from the mail and is made inert (``mail.inert``): no
    mention, quote or image but the mail's own uploads, checked by ``live_syntax``. The
    attachment links and notes are capped to fit the forum's max_post_length (10,000 tiny
    attachments: « … et N autres pièces jointes non reprises »)."""
    if msgdata.get("from_name"):
        msgdata["from_name"] = inert_name(msgdata["from_name"])  # the staged user's name
    body = msgdata.get("body") or ""
    links, notes, inline, own = [], [], [], set()
    budget, used, omitted = _max_post_chars(ctx) // NOTES_SHARE, 0, 0
    files = [] if _files_with_post(ctx, msgdata) else None
    for attachment in msgdata.get("attachments") or []:
        name = inert_filename(attachment.get("filename") or "") or "piece-jointe"
        label = link_label(name)
        cid = attachment.get("content_id")
        in_body = bool(cid and f"cid:{cid}" in body)
        if not in_body and used + len(label) + 80 > budget:
            omitted += 1  # neither sent nor uploaded: the post could not name it
            continue
        if files is not None:
            url = uploads.reference(ctx.forum, files, name, attachment["data"],
                                    attachment.get("content_type"))
        else:
            try:
                upload = uploads.upload(ctx.forum, name, attachment["data"],
                                        attachment.get("content_type"))
            except ForumRejected as exc:
                notes.append(f"« {escape_fragment(name)} » refusée par le forum "
                             f"({escape_fragment('; '.join(exc.errors) or str(exc.status))})")
                continue
            url = upload.get("short_url") or upload.get("url")
        own.add(url)
        if in_body:
            body = body.replace(f"cid:{cid}", url)
            inline.append((label, url))
        elif (attachment.get("content_type") or "").startswith("image/"):
            links.append(f"![{label}]({url})")
        else:
            links.append(f"[{label}|attachment]({url})")
        used += len(links[-1]) + 1 if not in_body else 0
    body = _LEFTOVER_CID.sub(lambda m: m.group(1), body)  # an image the mail did not carry
    for refused in msgdata.get("refused_attachments") or []:
        note = (f"« {escape_fragment(refused.get('filename') or 'sans nom')} » : "
                f"{escape_fragment(refused.get('reason', ''))}")
        if used + len(note) + 40 > budget:
            omitted += 1
            continue
        notes.append(note)
        used += len(note) + 40
    attribution = msgdata.get("attribution")
    if attribution:
        attribution = neutralise_mentions(strip_bidi(attribution))
    parts = [p for p in (attribution, body.strip()) if p]
    if not body.strip() and not links:
        parts.append("*(message sans texte)*")
    tail = []
    if links:
        tail.append("\n".join(links))
    if notes:
        tail.append("\n".join(f"*Pièce jointe non transmise : {n}*" for n in notes))
    if omitted:
        tail.append(f"*… et {omitted} autre{'s' if omitted > 1 else ''} pièce{'s' if omitted > 1 else ''} "
                    f"jointe{'s' if omitted > 1 else ''} non reprise{'s' if omitted > 1 else ''} "
                    "(trop nombreuses pour un message du forum).*")
    parts, tail = _inert(parts, tail, own)
    parts = ([notice] if notice else []) + parts
    # Kept for _shortened, which cuts the head only.
    msgdata.update(post_head="\n\n".join(parts), post_tail="\n\n".join(tail), inline_links=inline,
                   post_files=files or None)
    parts += tail
    if not msgdata.get("staged"):
        parts.append(_marker(msgdata["message_id"]))
    return "\n\n".join(parts)


def _inert(parts: list[str], tail: list[str], own: set) -> tuple[list[str], list[str]]:
    """PARTS and TAIL (all from the mail) checked as Discourse would cook them; whatever is
    still live is neutralised by force (never expected: the parse stage made them inert).
    Every kind ``live_syntax`` reports is handled: mentions, quotes, images (``![``, ``[img]``,
    ``<img``, and with them any raw HTML tag such as ``<details>``), oneboxes."""
    problems = live_syntax("\n\n".join(parts + tail), own, onebox=True)
    if _raw_html("\n\n".join(parts)):
        problems.append("html")
    if not problems:
        return parts, tail
    if any(p.startswith("mention") for p in problems):
        parts, tail = [neutralise_all_mentions(p) for p in parts], [neutralise_all_mentions(t) for t in tail]
    if "quote" in problems:
        parts = [_QUOTE_START.sub(r"\1\\[\2", p) for p in parts]
    if any(p.startswith(("image", "html")) for p in problems):
        parts = [_force_inert_images(p) for p in parts]
        tail = [t if all(u in own for u in re.findall(r"!\[[^\]]*\]\(([^)]*)\)", t))
                else _force_inert_images(t) for t in tail]
    if problems != ["html"]:  # neutralising may leave a bare URL: checked again
        problems = live_syntax("\n\n".join(parts), own, onebox=True)
    for href in {p[len("onebox "):] for p in problems if p.startswith("onebox ")}:
        for url in {href, unquote(href)}:  # autolinks: never oneboxed
            bare = re.compile(r"(?<![<(\w])" + re.escape(url) + r"(?![\w/])")
            parts = [bare.sub(lambda m: f"<{safe_destination(m.group(0))}>", p) for p in parts]
    return parts, tail


# Raw HTML tags Discourse keeps (its allowlist): a tag name right after "<". Only looked for
# in the fallback (the parse stage writes "<" as "&lt;" outside code).
_LIVE_TAG = re.compile(r"<(?=/?(?:img|details|summary|iframe|video|audio|source|picture|a|div|span|"
                       r"kbd|b|i|s|u|p|big|small|sup|sub|table|font|aside)\b)", re.I)


def _raw_html(raw: str) -> bool:
    """RAW holds a raw HTML tag Discourse would keep (a token of markdown-it's html rules)."""
    if not _LIVE_TAG.search(raw):
        return False
    for token in discourse_parser().parse(raw):
        if token.type == "html_block" and _LIVE_TAG.search(token.content):
            return True
        if token.type == "inline" and any(c.type == "html_inline" and _LIVE_TAG.search(c.content)
                                          for c in token.children or ()):
            return True
    return False


_FENCE_LINE = re.compile(r"^ {0,3}(?:>\s?)*\s*(`{3,}|~{3,})")


def _force_inert_images(text: str) -> str:
    """TEXT with no image or raw HTML left outside fenced code: ``![`` → ``!\\[``,
    ``[img]`` → ``\\[img]``, ``<tag`` → ``&lt;tag``."""
    out, fence = [], None
    for line in text.split("\n"):
        match = _FENCE_LINE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
        elif match:
            fence = match.group(1)
        else:
            line = re.sub(r"\[(img\])", r"\\[\1", line.replace("![", "!\\["), flags=re.I)
            line = _LIVE_TAG.sub("&lt;", line)
        out.append(line)
    return "\n".join(out)


def _files_with_post(ctx, msgdata) -> bool:
    """Send the attachments in the post's own request (one forum call per mail): the plugin
    posts for staged authors and says it takes files (capability ``post_files``)."""
    if not msgdata.get("staged") or msgdata.get("files_apart"):
        return False
    return "post_files" in ((ctx.forum.capabilities() or {}).get("features") or ())


def _marker(message_id: str) -> str:
    return f"<!-- forumsync {hashlib.sha1(message_id.encode('utf-8')).hexdigest()[:24]} -->"


# ---------------------------------------------------------------------- results
def _poster(ctx, username: str):
    """The gateway acting as USERNAME (clones cached per gateway)."""
    if not username or username == ctx.settings.FORUM_API_USERNAME:
        return ctx.forum
    with _posters_lock:
        clones = _posters.setdefault(ctx.forum, {})
        if username not in clones:
            clones[username] = ctx.forum.as_user(username)
        return clones[username]


def _post_of(answer: dict) -> dict:
    post = answer.get("post") if isinstance(answer.get("post"), dict) else answer
    return {"id": post.get("id") or post.get("post_id"), "topic_id": post.get("topic_id"),
            "post_number": post.get("post_number") or 1}


def _done(ctx, msgdata, post, *, new_topic: dict | None = None, topic: dict | None = None) -> None:
    msgdata.update(post_id=post["id"], topic_id=post["topic_id"], post_number=post.get("post_number"))
    facts = dict(message_id=msgdata["message_id"], post_id=post["id"], topic_id=post["topic_id"],
                 post_number=post.get("post_number") or 1, date=msgdata.get("date") or utcnow())
    if new_topic is not None:
        tags = msgdata.get("subject_tags") or []
        facts.update(new_topic, root_message_id=msgdata.get("root_message_id") or msgdata["message_id"],
                     title=msgdata.get("title") or "", subject_key=msgdata.get("subject_key") or "",
                     list_tag=f"[{tags[0]}]"[:64] if tags else None, state="open")
    elif topic is not None:
        if msgdata.get("adopt_root"):
            facts["adopt_root"] = msgdata["message_id"]
        facts.update(category_id=topic.get("category_id"),
                     theme=categories.theme_of_category(ctx, topic.get("category_id")),
                     title=topic.get("title") or "",
                     state="archived" if topic.get("archived") else
                     "closed" if topic.get("closed") else "open")
    msgdata.setdefault("writes", []).append(lambda session: record(session, facts, new_topic is not None))


_links, _topics = PostLink.__table__, TopicLink.__table__
_LINKED = select(_links.c.id).where(_links.c.message_id == bindparam("message_id"))
_TOPIC = select(_topics.c.last_activity_at, _topics.c.root_message_id, _topics.c.category_id,
                _topics.c.theme, _topics.c.state).where(_topics.c.topic_id == bindparam("topic_id"))
_TOPIC_CHANGE = update(_topics).where(_topics.c.topic_id == bindparam("_topic_id"))  # SET from the params
_LINK_INSERT, _TOPIC_INSERT = insert(_links), insert(_topics)  # columns from the params


def record(session, facts: dict, new_topic: bool) -> None:
    """Store PostLink and create/update TopicLink (inside the runner's final transaction).

    Core statements built once, on the session's connection: this runs once per published
    message, and the ORM's unit of work and statement compilation cost more than the
    statements themselves."""
    session.flush()  # ORM changes queued before us (a moved parent's PostLink) go first, as before
    conn = session.connection()
    if conn.execute(_LINKED, {"message_id": facts["message_id"]}).first() is None:
        conn.execute(_LINK_INSERT, dict(
            message_id=facts["message_id"], post_id=facts["post_id"], topic_id=facts["topic_id"],
            post_number=facts["post_number"], origin="list"))
    changes = {}
    if facts.get("adopt_root"):
        changes["root_message_id"] = facts["adopt_root"]
    if facts.get("category_id") is not None:
        changes["category_id"] = facts["category_id"]
    if facts.get("theme"):
        changes["theme"] = facts["theme"]
    if facts.get("state"):
        changes["state"] = facts["state"]
    link = conn.execute(_TOPIC, {"topic_id": facts["topic_id"]}).first()
    if link is None:
        from ..mail.subjects import subject_key

        values = dict(topic_id=facts["topic_id"], title=facts.get("title") or "",
                      subject_key=facts.get("subject_key") or subject_key(facts.get("title") or ""),
                      created_at=facts["date"], last_activity_at=facts["date"])
        if new_topic:
            values.update(external_id=facts["external_id"], root_message_id=facts["root_message_id"],
                          list_tag=facts.get("list_tag"))
        values.update(changes)
        conn.execute(_TOPIC_INSERT, values)
        return
    changes = {k: v for k, v in changes.items() if getattr(link, k) != v}
    if facts["date"] > link.last_activity_at:
        changes["last_activity_at"] = facts["date"]
    if changes:
        conn.execute(_TOPIC_CHANGE, {"_topic_id": facts["topic_id"], **changes})
