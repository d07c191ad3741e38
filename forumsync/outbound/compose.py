"""The one place that builds email: forum posts for the list, and one-to-one mails.

Headers are set through ``email.message.EmailMessage`` (policy SMTP, see mailpolicy.py) and
``email.headerregistry.Address``; every value coming from the forum (names, titles) goes
through :func:`headers.one_line` first, so a CR/LF in a title can never start a new header.
Bodies are built in bodies.py.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.headerregistry import Address
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import quote

from ..mail.ids import discourse_post_message_id
from .bodies import (absolute_html, bounded_html, bounded_text, footer_html, footer_text, html_to_text,
                     set_bodies, text_ready)
from .headers import bracket, mailbox, named_address, one_line
from .mailpolicy import POLICY

LOOP_HEADER = "X-Forumsync"


def post_message_id(settings, post_id: int) -> str:
    """Message-ID (without <>) of the email carrying forum post ``post_id`` (built by mail/ids.py)."""
    return discourse_post_message_id(post_id, settings.forum_host)


def topic_url(settings, topic_id: int, slug: str | None = None, post_number: int | None = None) -> str:
    """The page a reader opens (« Répondre sur Bistro »): see forum/links.py."""
    from ..forum.links import topic_page_url

    return topic_page_url(settings, topic_id, slug, post_number)


def profile_url(settings, username: str) -> str:
    return f"{settings.FORUM_URL}/u/{quote(username or '', safe='')}"


# Characters that show as nothing or as a space (format characters, spaces of every width,
# the braille blank, the Hangul fillers): 80 of them pushed « (via Bistro) » out of sight.
_BLANK_LOOKING = re.compile(r"[\s\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2000-\u200f"
                            r"\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0]+")
NAME_CHARS = 64  # of the author's name in From: the « via » marker stays in view


def visible_name(author_name: str) -> str:
    """AUTHOR_NAME as a From display name that reads as a name: blank-looking characters
    become one space, and nothing in it reads as an address (« tresorier@club.fr » shows as
    « tresorier chez club.fr », « < > » as « ‹ › »; red team, eighth pass) nor as the bridge's
    own « (via Bistro) » mark (parentheses shown as brackets: twenty-first pass)."""
    name = _BLANK_LOOKING.sub(" ", one_line(author_name, 1000)).strip()
    name = name.replace("@", " chez ").replace("＠", " chez ").replace("<", "‹").replace(">", "›")
    name = name.replace("(", "[").replace(")", "]")
    name = re.sub(r" {2,}", " ", name)
    return name[:NAME_CHARS].rstrip() + ("…" if len(name) > NAME_CHARS else "")


def bridge_from(settings, author_name: str, username: str = "") -> Address:
    """``"pseudo - Prénom Nom (via Bistro)" <BRIDGE_ADDRESS>``: never the author's address
    (DMARC), nor a name that reads as one (``visible_name``). A display name is free text:
    anyone may register as « Marie Dupré » or « Équipe Bistro »; the username is unique on the
    forum, so it comes first, before any name that is not it, where no display name can reach
    (red team, twentieth pass: a namesake's list mail read byte for byte as Marie's; twenty-first:
    a name ending « (marie via Bistro) » did too, when the username came after it)."""
    name = visible_name(author_name) or "Quelqu'un"
    handle = visible_name(one_line(username, 60))
    if handle and handle.casefold() != name.casefold():
        name = f"{handle} - {name}"
    local, domain = settings.BRIDGE_ADDRESS.rsplit("@", 1)
    return Address(display_name=f"{name} (via {one_line(settings.FORUM_NAME, 60)})",
                   username=local, domain=domain)


def _common_headers(settings, msg: EmailMessage) -> None:
    msg["X-Loop"] = settings.BRIDGE_ADDRESS
    msg[LOOP_HEADER] = settings.forum_host


# ------------------------------------------------------------------------------ list mail
@dataclass
class ForumPost:
    """What compose needs to know of a forum post to email it to the list."""

    post_id: int
    topic_id: int
    post_number: int
    username: str
    author_name: str
    cooked: str
    title: str
    topic_slug: str = ""
    list_tag: str | None = None          # the thread's tag as it appears on the list, e.g. "[SVE]"
    in_reply_to: str | None = None       # Message-ID (no <>) of the replied-to mail
    references: list[str] = field(default_factory=list)  # root first, parent last (no <>)
    author_email: str | None = None
    created_at: datetime | None = None
    edited: bool = False                 # an « [modifié] » notice rather than the post itself


def list_subject(title: str, list_tag: str | None, reply: bool, edited: bool = False) -> str:
    """The list's own form of the thread: ``Re: [TAG] Titre`` (no ``Re:`` for a new topic)."""
    title = one_line(title, 250)
    tag = one_line(list_tag, 64)
    if tag and not title.lower().startswith(tag.lower()):
        title = f"{tag} {title}"
    if edited:
        return f"[modifié] {title}" if not reply else f"Re: [modifié] {title}"
    return f"Re: {title}" if reply else title


def compose_post(settings, post: ForumPost) -> EmailMessage:
    """The email carrying a forum post to the list (From the bridge, Reply-To the list)."""
    url = topic_url(settings, post.topic_id, post.topic_slug, post.post_number)
    msg = EmailMessage(policy=POLICY)
    msg["From"] = bridge_from(settings, post.author_name or post.username, post.username)
    msg["To"] = named_address(settings.LIST_ADDRESS, settings.LIST_NAME)
    msg["Reply-To"] = named_address(settings.LIST_ADDRESS, settings.LIST_NAME)
    reply = post.post_number > 1 or post.edited
    msg["Subject"] = list_subject(post.title, post.list_tag, reply, post.edited)
    msg["Date"] = format_datetime((post.created_at or datetime.now(timezone.utc)).astimezone(timezone.utc))
    if post.edited:
        msg["Message-ID"] = make_msgid("discourse.edit", settings.forum_host)
        parent = post_message_id(settings, post.post_id)
        msg["In-Reply-To"] = bracket(parent)
        msg["References"] = " ".join(bracket(r) for r in [*post.references, parent])
    else:
        msg["Message-ID"] = bracket(post_message_id(settings, post.post_id))
        if post.in_reply_to:
            msg["In-Reply-To"] = bracket(post.in_reply_to)
        refs = [r for r in post.references if r]
        if post.in_reply_to and post.in_reply_to not in refs:
            refs.append(post.in_reply_to)
        if refs:
            msg["References"] = " ".join(bracket(r) for r in refs)
    author = one_line(post.author_name or post.username, 120)
    if settings.EXPOSE_AUTHOR_EMAIL and post.author_email:
        msg["X-Original-From"] = mailbox(author, post.author_email)
    else:
        msg["X-Original-From"] = mailbox(author, profile_url(settings, post.username))
    _common_headers(settings, msg)
    if post.edited:
        text = (f"{author} a modifié son message sur {settings.FORUM_NAME}.\n"
                f"Version à jour : {url}\n")
        body_html = (f"<p>{html.escape(author)} a modifié son message sur "
                     f"{html.escape(settings.FORUM_NAME)}.</p>")
        set_bodies(msg, text + "\n" + footer_text(settings, url), body_html + footer_html(settings, url))
    else:
        set_bodies(msg, *post_bodies(settings, post.cooked, url))
    return msg


def post_bodies(settings, cooked: str, url: str) -> tuple[str, str]:
    """(plain text, HTML) of the list mail of a post cooked as COOKED, footers included."""
    body_html, cut = bounded_html(absolute_html(settings, cooked))
    readable = text_ready(cooked)  # most posts hold no image or quote: the HTML part's serves
    text_html = body_html if readable == cooked else bounded_html(absolute_html(settings, readable))[0]
    text = bounded_text(html_to_text(settings, text_html))
    if cut:  # never the whole of a post that cooks huge (bodies.MAX_LIST_HTML_CHARS)
        note = f"[…] Message trop long pour la liste, coupé : la suite sur {settings.FORUM_NAME}."
        text = text.rstrip("\n") + "\n\n" + note + "\n"
        body_html += f"<p><em>{html.escape(note)}</em></p>"
    return text + "\n" + footer_text(settings, url), body_html + footer_html(settings, url)


# The MIME headers of a list mail: what a new pair of bodies brings with it.
_MIME_HEADERS = (b"content-type", b"content-transfer-encoding", b"mime-version")


def _parts(raw: bytes) -> tuple[str, ...]:
    """The decoded text of RAW's plain and HTML parts ("" for a part it lacks)."""
    message = message_from_bytes(raw, policy=POLICY)
    parts = (message.get_body((kind,)) for kind in ("plain", "html"))
    return tuple(part.get_content() if part is not None else "" for part in parts)


def with_post_as_now(settings, raw: bytes, cooked: str, url: str) -> bytes | None:
    """RAW, a queued list mail of a post, with the bodies of the post as the forum cooks it
    now (COOKED), or None when they read the same. A mail waits in the outbox (mail server
    down, retries, an operator's « Réessayer » days later): a post edited meanwhile, by its
    author or by a moderator who took out a phone number, went out as it was when queued,
    into the list's archives for good (red team, 47th pass). Every header stays byte for byte
    (Message-ID, threading, From); only the MIME headers and the body are new."""
    fresh = EmailMessage(policy=POLICY)
    set_bodies(fresh, *post_bodies(settings, cooked, url))
    fresh_raw = fresh.as_bytes(policy=POLICY)
    if _parts(fresh_raw) == _parts(raw):
        return None
    head, separator, _ = raw.partition(b"\r\n\r\n")
    fresh_head, _, fresh_body = fresh_raw.partition(b"\r\n\r\n")
    if not separator:
        return None
    kept, keep = [], True
    for line in head.split(b"\r\n"):
        if line[:1] not in (b" ", b"\t"):  # a header starts; its continuation lines follow it
            keep = line.split(b":", 1)[0].strip().lower() not in _MIME_HEADERS
        if keep:
            kept.append(line)
    return b"\r\n".join(kept) + b"\r\n" + fresh_head + b"\r\n\r\n" + fresh_body


def with_subject(raw: bytes, subject: str) -> bytes | None:
    """RAW, a queued list mail, with SUBJECT as its Subject (encoded as ``compose_post``
    encodes it, in its place among the headers), or None when it already reads SUBJECT. A
    topic's title changed while its first post's mail waited (LIST_SEND_DELAY_SECONDS): the
    mail left with the bodies as now and the title as it was (49th pass); Discourse builds its
    mailing-list mode mails when the job runs, from the topic as it is then. Every other
    header stays byte for byte (threading included)."""
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator or not subject:
        return None
    if message_from_bytes(head + separator, policy=POLICY).get("Subject", "") == subject:
        return None
    fresh = EmailMessage(policy=POLICY)
    fresh["Subject"] = subject
    line = fresh.as_bytes(policy=POLICY).partition(b"\r\n\r\n")[0]
    kept, keep, placed = [], True, False
    for header in head.split(b"\r\n"):
        if header[:1] not in (b" ", b"\t"):  # a header starts; its continuation lines follow it
            keep = header.split(b":", 1)[0].strip().lower() != b"subject"
            if not keep and not placed:
                kept.append(line)
                placed = True
        if keep:
            kept.append(header)
    if not placed:
        kept.append(line)
    return b"\r\n".join(kept) + separator + body


# ------------------------------------------------------------------------------ one-to-one
def compose_personal(settings, *, to: str, to_name: str = "", subject: str, text: str,
                     html_body: str | None = None, topic_id: int | None = None,
                     post_id: int | None = None, reply_address: str | None = None,
                     in_reply_to: str | None = None, link: str | None = None,
                     auto_submitted: bool = False) -> EmailMessage:
    """A one-to-one mail (welcome, refusal…) from the bridge.

    With ``topic_id``, Reply-To is a signed address bound to that topic and to ``to``
    (``forumsync.outbound.replykeys``), so a reply is posted there as that person.
    """
    from .replykeys import make_reply_address

    msg = EmailMessage(policy=POLICY)
    msg["From"] = named_address(settings.BRIDGE_ADDRESS, settings.FORUM_NAME)
    msg["To"] = named_address(to, to_name)
    if reply_address is None and topic_id is not None:
        reply_address = make_reply_address(settings, to, topic_id, post_id)
    if reply_address:
        msg["Reply-To"] = named_address(reply_address, settings.FORUM_NAME)
    msg["Subject"] = one_line(subject, 250)
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid("forumsync", settings.forum_host)
    if in_reply_to:
        msg["In-Reply-To"] = bracket(in_reply_to)
        msg["References"] = bracket(in_reply_to)
    if auto_submitted:  # refusals and notices: nobody should auto-answer them
        msg["Auto-Submitted"] = "auto-replied"
    _common_headers(settings, msg)
    if link is None and topic_id is not None:
        link = topic_url(settings, topic_id)
    if html_body is None:
        html_body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                            for p in text.strip().split("\n\n"))
    else:
        html_body = absolute_html(settings, html_body)
    if link:
        text = text.rstrip("\n") + "\n\n" + footer_text(settings, link)
        html_body += footer_html(settings, link)
    set_bodies(msg, text, html_body)
    return msg
