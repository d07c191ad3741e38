"""The one place that builds email: forum posts for the list, and one-to-one mails.

Headers are set through ``email.message.EmailMessage`` (policy SMTP) and
``email.headerregistry.Address``; every value coming from the forum (names, titles) goes
through :func:`one_line` first, so a CR/LF in a title can never start a new header.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.charset import Charset
from email.header import Header
from email.headerregistry import Address, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from urllib.parse import quote, urljoin, urlsplit

import html2text
import nh3

_ADDRESS_HEADERS = {"from", "to", "cc", "bcc", "reply-to", "sender"}


class VerbatimHeader(UnstructuredHeader):
    """A header whose value compose already encoded (RFC 2047 words, quoted strings):
    written as given, folded at its spaces, never decoded and re-encoded by the policy
    (which would turn « =?utf-8?b?…?= <…> » back into the bare « Marie <admin@…>, "x <…> »)."""

    @classmethod
    def parse(cls, value, kwds):
        super().parse(value, kwds)
        kwds["verbatim"] = " ".join(str(value).split())

    def init(self, name, *, verbatim, **kw):
        super().init(name, **kw)
        self._verbatim = verbatim

    def fold(self, *, policy):
        lines, line = [], f"{self.name}:"
        for word in self._verbatim.split(" "):
            if len(line) + 1 + len(word) > 76 and line.strip() and not line.endswith(":"):
                lines.append(line)
                line = ""
            line += " " + word
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep


class _SafeFoldingPolicy(policy.EmailPolicy):
    """policy.SMTP, except that non-ASCII headers are folded by ``email.header.Header``.

    CPython 3.11's folder drops the space between two RFC 2047 encoded words when it has to
    fold a long accented subject (« réception électronique » → « réceptionélectronique ») and
    splits display names mid-word; Header's older algorithm keeps them intact.
    """

    def _fold_non_ascii(self, name, value) -> str | None:
        text = str(value)
        if text.isascii() or isinstance(value, VerbatimHeader):
            return None
        if name.lower() in _ADDRESS_HEADERS and getattr(value, "addresses", None):
            parts = []
            for address in value.addresses:
                if address.display_name and not address.display_name.isascii():
                    label = Header(address.display_name, "utf-8", header_name=name).encode(
                        linesep=self.linesep)
                    last_line = label.rsplit(self.linesep, 1)[-1]
                    glue = self.linesep + " " if len(last_line) + len(address.addr_spec) + 3 > 76 else " "
                    parts.append(f"{label}{glue}<{address.addr_spec}>")
                else:
                    parts.append(str(address))
            body = ("," + self.linesep + " ").join(parts)
        else:
            body = Header(text, "utf-8", header_name=name).encode(linesep=self.linesep)
        return f"{name}: {body}{self.linesep}"

    def fold(self, name, value):
        return self._fold_non_ascii(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        folded = self._fold_non_ascii(name, value)
        if folded is None:
            return super().fold_binary(name, value)
        return folded.encode("ascii")


POLICY = _SafeFoldingPolicy(linesep="\r\n")
POLICY.header_factory.map_to_type("x-original-from", VerbatimHeader)
LOOP_HEADER = "X-Forumsync"
# Control characters (CR, LF, NUL, tabs, Unicode line/paragraph separators) never reach a header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_ABSOLUTE_ATTRS = {("a", "href"), ("img", "src"), ("source", "src"), ("video", "src"),
                   ("audio", "src"), ("video", "poster")}


def one_line(value, limit: int = 300) -> str:
    """A header-safe single line: control characters become spaces, length bounded."""
    text = _CONTROL.sub(" ", str(value or "")).strip()
    return re.sub(r" {2,}", " ", text)[:limit]


def bracket(message_id: str) -> str:
    """``<id>`` from a stored id (stored ids have no angle brackets)."""
    return "<" + message_id.strip().strip("<>") + ">"


def post_message_id(settings, post_id: int) -> str:
    """Message-ID (without <>) of the email carrying forum post ``post_id``."""
    return f"discourse/post/{int(post_id)}@{settings.forum_host}"


def topic_url(settings, topic_id: int, slug: str | None = None, post_number: int | None = None) -> str:
    """The page a reader opens (« Répondre sur Bistro »): see forum/links.py."""
    from ..forum.links import topic_page_url

    return topic_page_url(settings, topic_id, slug, post_number)


def profile_url(settings, username: str) -> str:
    return f"{settings.FORUM_URL}/u/{quote(username or '', safe='')}"


def bridge_from(settings, author_name: str) -> Address:
    """``"Prénom Nom (via Bistro)" <BRIDGE_ADDRESS>``: never the author's address (DMARC)."""
    name = one_line(author_name, 120) or "Quelqu'un"
    username, domain = settings.BRIDGE_ADDRESS.rsplit("@", 1)
    return Address(display_name=f"{name} (via {one_line(settings.FORUM_NAME, 60)})",
                   username=username, domain=domain)


# A display name that could be read as (part of) an address list: specials of RFC 5322 3.2.3.
_ADDRESS_LIKE = re.compile(r'[<>@,;:"\\()\[\]]')


def mailbox(display_name: str, target: str) -> str:
    """``name <target>`` where the name can never be read as another address (X-Original-From).

    A plain name goes through ``formataddr`` (quoted when needed). A name holding address
    syntax (« Marie <admin@club.fr>, "x ») or non-ASCII letters becomes RFC 2047 encoded
    words: one opaque phrase for parsers that split before decoding (RFC 5322/2047), with no
    ``@``/``,``/``<`` for lenient ones that scan the raw text for anything address-like (the
    profile URL used when the address is not exposed is no addr-spec, so such parsers fall
    back to scanning)."""
    name = one_line(display_name, 120)
    if not name:
        return f"<{target}>"
    if name.isascii() and not _ADDRESS_LIKE.search(name):
        return formataddr((name, target))
    return f"{encoded_words(name)} <{target}>"


def encoded_words(text: str, chunk_bytes: int = 45) -> str:
    """TEXT as RFC 2047 encoded words (always encoded, even when ASCII), each under
    75 characters and cut between characters."""
    charset = Charset("utf-8")
    words, chunk = [], ""
    for char in text:
        if chunk and len((chunk + char).encode("utf-8")) > chunk_bytes:
            words.append(charset.header_encode(chunk))
            chunk = ""
        chunk += char
    if chunk:
        words.append(charset.header_encode(chunk))
    return " ".join(words)


def _address(addr: str, display_name: str = "") -> Address:
    username, domain = addr.rsplit("@", 1)
    return Address(display_name=one_line(display_name, 120), username=username, domain=domain)


# ------------------------------------------------------------------------------ bodies
def absolute_html(settings, cooked: str) -> str:
    """Sanitised HTML (nh3) with every link and image made absolute against FORUM_URL."""
    base = settings.FORUM_URL + "/"

    def attribute_filter(tag, attr, value):
        if (tag, attr) in _ABSOLUTE_ATTRS and value:
            scheme = urlsplit(value).scheme
            if not scheme:  # "/uploads/…", "//host/…", "relative"
                return urljoin(base, value)
        return value

    return nh3.clean(cooked or "", attribute_filter=attribute_filter,
                     url_schemes={"http", "https", "mailto"})


def html_to_text(settings, safe_html: str) -> str:
    """Plain text from the (already absolute) HTML: quotes as ``>``, links kept as URLs."""
    converter = html2text.HTML2Text(bodywidth=0)  # links are already absolute
    converter.unicode_snob = True
    converter.inline_links = True
    converter.ignore_emphasis = False
    converter.wrap_links = False
    text = converter.handle(safe_html)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def footer_text(settings, url: str) -> str:
    return f"-- \nRépondre sur {settings.FORUM_NAME} : {url}\n"


def footer_html(settings, url: str) -> str:
    href = html.escape(url, quote=True)
    return (f'<hr><p style="font-size:small;color:#666">Répondre sur {html.escape(settings.FORUM_NAME)}'
            f' : <a href="{href}">{html.escape(url)}</a></p>')


def _set_bodies(msg: EmailMessage, text: str, html_body: str) -> None:
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>"
                        f"<body>{html_body}</body></html>\n",
                        subtype="html", charset="utf-8", cte="quoted-printable")


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
    msg["From"] = bridge_from(settings, post.author_name or post.username)
    msg["To"] = _address(settings.LIST_ADDRESS, settings.LIST_NAME)
    msg["Reply-To"] = _address(settings.LIST_ADDRESS, settings.LIST_NAME)
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
    else:
        body_html = absolute_html(settings, post.cooked)
        text = html_to_text(settings, body_html)
    _set_bodies(msg, text + "\n" + footer_text(settings, url), body_html + footer_html(settings, url))
    return msg


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
    msg["From"] = _address(settings.BRIDGE_ADDRESS, settings.FORUM_NAME)
    msg["To"] = _address(to, to_name)
    if reply_address is None and topic_id is not None:
        reply_address = make_reply_address(settings, to, topic_id, post_id)
    if reply_address:
        msg["Reply-To"] = _address(reply_address, settings.FORUM_NAME)
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
    _set_bodies(msg, text, html_body)
    return msg
