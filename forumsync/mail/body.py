"""Walking a MIME tree: which parts make the body, which are attachments.

Like HyperKitty and Mailman's archivers: in multipart/alternative one alternative is chosen
(text/plain unless it is empty, a "see the HTML version" stub, or much poorer than the HTML);
in multipart/mixed every inline text part is body (Mailman appends its footer as one);
in multipart/related the first part is the body and the rest are inline resources.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from html import unescape

from .cuts import markdown_prefix
from .decode import part_bytes, part_text
from .headers import decode_header_value, header_str
from .html import _SAFE_CID, html_text, html_to_markdown
from .ids import normalize_message_id
from .inert import inert_filename, inert_name, link_label, neutralise_text
from .mime import ENCODED_MESSAGE_CTES, content_transfer_encoding, content_type, param
from .text import inline_markdown, plain_to_markdown

_STUB = re.compile(
    r"(?:version\s+html|format\s+html|en\s+html|html\s+version|html[\s-]formatted|"
    r"view\s+(?:this|it)\s+(?:\w+\s+)?in\s+(?:a|your)\s+(?:web\s+)?browser|"
    r"ne\s+(?:permet|supporte|prend)\s+pas|does\s+not\s+support|"
    r"this\s+is\s+(?:an?\s+)?(?:html|multi-?part)\s+message|consulter\s+(?:ce|le)\s+message)",
    re.IGNORECASE)
# (a tag's body stops at the next "<" too: linear whatever the text, see mail/html.py)
_HREF = re.compile(r"""<a\b[^<>]*\bhref\s*=\s*["']?(https?://[^"'\s>]+)""", re.IGNORECASE)
_TABLE_ROW = re.compile(r"<tr\b", re.IGNORECASE)
_CID = re.compile(r"""src\s*=\s*["']?cid:([^"'\s>]+)""", re.IGNORECASE)

# A message's decoded text converted for its post, at most (characters): the post shows at
# most the forum's max_post_length (32,000 by default) and the whole text goes in the file
# attached to a post cut short (``Body.full_text``). Converting and checking text no one will
# read cost 15–21 s and 430–530 MB for a 900 KB mail (red team, seventh pass).
MAX_TEXT_CHARS = 100_000
# ... and of Markdown, which may be longer than its text (each « a.fr » becomes a link: 4.4
# times as long); cut at a line end, the check of the post's text runs on what is kept.
MAX_MARKDOWN_CHARS = 120_000
# Forwarded messages rendered one inside the other, at most: each level quotes all the levels
# inside it again (a 903 KB mail of 99 levels became a 60 MB body, 69 s, 579 MB). Deeper
# levels are in the full text.
MAX_FORWARD_DEPTH = 8
DEEPER_FORWARD = ("*(messages transférés imbriqués plus profondément : non repris ici, leur texte "
                  "est dans le texte complet joint)*")


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None

    def as_dict(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type, "data": self.data,
                "inline": self.inline, "content_id": self.content_id}


@dataclass
class Body:
    markdown: str = ""
    source: str = "empty"  # "plain", "html" or "empty"
    attachments: list[Attachment] = field(default_factory=list)
    html_cids: set[str] = field(default_factory=set)
    # Every text part as decoded, when some of it was left out of the Markdown (over
    # MAX_TEXT_CHARS, or forwarded deeper than MAX_FORWARD_DEPTH); else None
    full_text: str | None = None


class _Room:
    """The characters of decoded text a message may still convert (shared by its walker and
    those of its forwarded messages), and every text part decoded, for the full text."""

    def __init__(self, chars: int):
        self.chars, self.cut, self.texts = chars, False, []

    def take(self, text: str) -> str:
        """TEXT, or its beginning up to the room left (ending at a line end when it can)."""
        self.texts.append(text)
        if len(text) <= self.chars:
            self.chars -= len(text)
            return text
        kept = text[:self.chars]
        if "\n" in kept:
            kept = kept[:kept.rfind("\n") + 1]
        self.chars, self.cut = 0, True
        return kept

    def left_out(self, texts: list[str]) -> None:
        self.texts.extend(texts)
        self.cut = True


def _disposition(part) -> str:
    return header_str(part, "Content-Disposition").split(";", 1)[0].strip().lower()


def _filename(part) -> str:
    """The part's file name: Content-Disposition's filename, else Content-Type's name. Read
    with ``mime.param`` (linear), not ``get_filename``, whose parameter split is quadratic:
    40,000 ";" cost 1.6 s a part (red team, eighth pass)."""
    name = ""
    for key, header in (("filename", "Content-Disposition"), ("name", "Content-Type")):
        try:
            name = param(part, key, header)
        except Exception:  # (a malformed RFC 2231 value: no name rather than no message)
            name = ""
        if name:
            break
    return inert_filename(decode_header_value(name)).strip()


def _content_id(part) -> str | None:
    """The part's Content-ID, when it can stand in ``![…](cid:…)`` without ending it."""
    cid = normalize_message_id(header_str(part, "Content-ID"))
    return cid if cid and _SAFE_CID.fullmatch(cid) else None


def image_markdown(att: "Attachment") -> str:
    """The Markdown of an inline image of the mail (publish swaps the cid for its upload)."""
    return f"![{link_label(att.filename)}](cid:{att.content_id})"


def plain_is_poorer(plain: str, html: str) -> bool:
    """True when the text/plain alternative lost what matters of the HTML one. nh3 reads the
    HTML only as far as the converter would (MAX_TEXT_CHARS): its parser is quadratic in the
    nesting of block tags, in native code the CPU budget cannot interrupt (400 KB of
    ``<div>`` took 19 s there; red-team pass 12)."""
    stripped = plain.strip()
    if not stripped:
        return True
    if len(stripped) < 300 and _STUB.search(stripped):
        return True
    if len(_TABLE_ROW.findall(html)) >= 2 and "|" not in stripped and "\t" not in stripped:
        return True
    urls = {unescape(url).rstrip("/") for url in _HREF.findall(html)}
    lost = [url for url in urls if url not in plain]
    if lost and len(lost) * 2 >= len(urls):
        return True
    return len(stripped) * 2 < len(html_text(html[:MAX_TEXT_CHARS]))


class _Walker:
    def __init__(self, room: _Room | None = None, depth: int = 0):
        self.body = Body()
        self.texts: list[str] = []
        self.sources: list[str] = []
        self._decoded: dict[int, str] = {}
        self.room = room or _Room(MAX_TEXT_CHARS)
        self.depth = depth  # forwarded messages around this one

    def part_text(self, part) -> str:
        """``part_text``, decoded once: multipart/alternative reads its texts twice."""
        key = id(part)  # the parts outlive the walk
        if key not in self._decoded:
            self._decoded[key] = part_text(part)
        return self._decoded[key]

    def attach(self, part, inline: bool = False):
        data = part_bytes(part)
        ctype = content_type(part)
        filename = _filename(part)
        if not filename:
            ext = ctype.split("/")[-1].split("+")[0].replace("x-", "")[:8] or "bin"
            filename = f"piece-jointe-{len(self.body.attachments) + 1}.{ext}"
        cid = _content_id(part)
        self.body.attachments.append(Attachment(filename, ctype, data,
                                                inline or _disposition(part) == "inline" and bool(cid),
                                                cid))

    def add_text(self, markdown: str, source: str):
        if markdown.strip():
            self.texts.append(markdown)
            self.sources.append(source)

    def text_part(self, part):
        ctype = content_type(part)
        text = self.room.take(self.part_text(part))
        if ctype == "text/html":
            self.body.html_cids.update(c.lower() for c in _CID.findall(text))
            self.add_text(html_to_markdown(text), "html")
        else:
            self.add_text(plain_to_markdown(text), "plain")

    def alternative(self, part):
        children = list(part.iter_parts())
        plain = next((c for c in children if content_type(c) == "text/plain"), None)
        rich = next((c for c in reversed(children)
                     if content_type(c) == "text/html" or c.is_multipart()), None)
        if rich is None or (plain is not None and rich.is_multipart() and
                            content_type(rich) != "multipart/related"):
            chosen = plain or (children[-1] if children else None)
        elif plain is None:
            chosen = rich
        else:
            html_part = rich if not rich.is_multipart() else next(
                (c for c in rich.walk() if content_type(c) == "text/html"), None)
            html = self.part_text(html_part) if html_part is not None else ""
            chosen = rich if html and plain_is_poorer(self.part_text(plain), html) else plain
        if chosen is None:
            return
        if chosen is plain and rich is not None:
            # Keep the HTML's inline images (Outlook screenshots) as attachments.
            for sub in (rich.walk() if rich.is_multipart() else [rich]):
                if content_type(sub) == "text/html":
                    self.body.html_cids.update(c.lower() for c in _CID.findall(self.part_text(sub)))
                elif not sub.is_multipart() and content_type(sub).split("/")[0] != "text":
                    self.attach(sub, inline=True)
        self.walk(chosen)

    def walk(self, part):
        ctype = content_type(part)
        if ctype == "message/rfc822":
            self.forwarded(part)
            return
        if part.is_multipart():
            if ctype == "multipart/alternative":
                self.alternative(part)
                return
            children = list(part.iter_parts())
            if ctype == "multipart/related" and children:
                self.walk(children[0])
                for child in children[1:]:
                    self.attach(child, inline=True) if not child.is_multipart() else self.walk(child)
                return
            if ctype == "multipart/signed" and children:
                children = children[:1]
            for child in children:
                self.walk(child)
            return
        if ctype in ("text/plain", "text/html") and _disposition(part) != "attachment":
            self.text_part(part)
            return
        if ctype in ("text/enriched", "text/markdown", "text/x-markdown") \
                and _disposition(part) != "attachment" and not _filename(part):
            self.add_text(plain_to_markdown(self.room.take(part_text(part))), "plain")
            return
        self.attach(part)
        if ctype.startswith("image/") and _disposition(part) == "inline" and self.texts:
            # Apple Mail / iPhone put inline photos between text parts: show them there.
            att = self.body.attachments[-1]
            att.inline = True
            att.content_id = att.content_id or f"forumsync-inline-{len(self.body.attachments)}"
            self.texts.append(image_markdown(att))
            self.sources.append("")

    def forwarded(self, part):
        """A forwarded message: its headers and body follow, as a quote."""
        try:
            inner = part.get_payload()
        except (LookupError, ValueError):  # a charset parameter Python cannot decode with (a NUL
            self.attach(part)              # in it): the part kept as a file, as it came
            return
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if isinstance(inner, str) and content_transfer_encoding(part) in ENCODED_MESSAGE_CTES:
            inner = _decoded_forward(part)  # a leaf for the parser (mail.POLICY): decoded here
            if inner is None:  # nothing in it: kept whole, as it came
                self.body.attachments.append(Attachment(FORWARD_FILE_NAME, "message/rfc822",
                                                        part.get_payload().encode("ascii", "replace"),
                                                        False, None))
                return
        if not hasattr(inner, "get_content_type"):
            self.attach(part)
            return
        fields = _forward_fields(inner)
        if self.depth >= MAX_FORWARD_DEPTH:
            self.room.left_out(_texts_below(inner))
            self.add_text(DEEPER_FORWARD, "plain")
            return
        self.room.texts.append(_fields_text(fields))
        sub = _Walker(self.room, self.depth + 1)
        sub.walk(inner)
        self.body.attachments.extend(sub.body.attachments)
        # URLs kept as written (as in a body): escaping a "_" inside one changed the link
        head = [f"**{label} :** {inline_markdown(inert_name(value))}" for label, value in fields]
        text = joined_texts(sub.texts)
        quoted = "\n".join(quoted_line(line) for line in ("\n".join(head) + "\n\n" + text).split("\n"))
        self.add_text("Message transféré :\n\n" + quoted, "plain")


FORWARD_FILE_NAME = "message-transfere.eml"
# Closes every block a text may leave open (a list goes on across blank lines), invisible once
# cooked (an HTML comment, as the bridge's post marker).
BLOCKS_END = "<!-- -->"


def joined_texts(texts: list[str]) -> str:
    """The Markdown of several texts (parts of a mail), one after the other. Each text's
    indented code was decided on that text alone, from its start (``plain_to_markdown``): a
    text that begins indented follows ``BLOCKS_END``, not the previous text's last list, in
    which its code would be a paragraph, its Markdown live (twenty-eighth pass)."""
    out: list[str] = []
    for text in texts:
        if out and text[:1] in (" ", "\t"):
            out.append(BLOCKS_END)
        out.append(text)
    return "\n\n".join(out)


def quoted_line(line: str) -> str:
    """LINE in a quote (« > »). The tabs of its indentation become spaces first (CommonMark's
    tab stops of 4, so its blocks are the same): a tab after « > » reaches the next stop, two
    columns short, and indented code there was a paragraph, its Markdown live (twenty-eighth
    pass)."""
    lead = len(line) - len(line.lstrip(" \t>"))
    if "\t" in line[:lead]:
        line = line[:lead].expandtabs(4) + line[lead:]
    return ("> " + line).rstrip()


def _decoded_forward(part):
    """The message PART forwards, PART's payload being its transfer-encoded text (see
    ``mail.ENCODED_MESSAGE_CTES``): decoded as it came (a regenerated copy broke a header line
    a quoted-printable soft break had cut: red team, twentieth pass), then parsed; None when
    nothing is left once decoded."""
    data = part_bytes(part)  # lenient, like any part's decoding
    if not data.strip():
        return None
    return email.message_from_bytes(data, policy=part.policy)


def _forward_fields(msg) -> list[tuple[str, str]]:
    """(French label, value) of a forwarded message's From, Date and Subject, as present."""
    return [(label, header_str(msg, name)) for label, name in
            (("De", "From"), ("Date", "Date"), ("Objet", "Subject")) if header_str(msg, name)]


def _fields_text(fields: list[tuple[str, str]]) -> str:
    """FIELDS (``_forward_fields``) as the full text writes them: « De : … » lines."""
    return "\n".join(f"{label} : {value}" for label, value in fields)


# Forwarded messages sent with a transfer encoding read for the full text, at most, and their
# encoded characters in all: each is decoded and parsed again, and a quoted-printable text is
# often its own encoding, so each level may weigh the whole mail (64 of them decoded a 20 MB
# mail 73 times over, 19 s: red team, 22nd pass).
MAX_ENCODED_FORWARDS_BELOW = MAX_FORWARD_DEPTH // 2
MAX_ENCODED_FORWARD_BYTES_BELOW = 2 * 1024 * 1024


def _texts_below(msg) -> list[str]:
    """The headers of every message in MSG and its text parts, decoded, in order (the full
    text of forwarded levels too deep to render); forwarded messages sent with a transfer
    encoding are decoded too (they are leaves for the parser: red team, twenty-first pass)."""
    texts, decoded, budget = [], 0, MAX_ENCODED_FORWARD_BYTES_BELOW
    pending = [msg]
    while pending:
        for part in pending.pop(0).walk():
            fields = _forward_fields(part)
            if fields:
                texts.append(_fields_text(fields))
            if not part.is_multipart() and content_type(part) in ("text/plain", "text/html"):
                texts.append(part_text(part))
            elif isinstance(part.get_payload(), str) and content_type(part).startswith("message/") \
                    and content_transfer_encoding(part) in ENCODED_MESSAGE_CTES \
                    and decoded < MAX_ENCODED_FORWARDS_BELOW and len(part.get_payload()) <= budget:
                decoded += 1
                budget -= len(part.get_payload())
                inner = _decoded_forward(part)
                if inner is not None:
                    pending.append(inner)
    return texts


def extract_body(msg) -> Body:
    """Body Markdown and attachments of a parsed message."""
    walker = _Walker()
    walker.walk(msg)
    body = walker.body
    body.markdown = joined_texts([t.strip("\n") for t in walker.texts])
    if len(body.markdown) > MAX_MARKDOWN_CHARS:
        walker.room.cut = True
        body.markdown = markdown_prefix(body.markdown, MAX_MARKDOWN_CHARS)
    body.source = next((source for source in walker.sources if source), "empty")
    body.markdown = neutralise_text(link_inline_images(body.markdown, body.attachments))
    if walker.room.cut:
        body.full_text = "\n\n".join(text for text in walker.room.texts if text.strip())
    for att in body.attachments:
        if att.content_id and att.content_id.lower() in body.html_cids:
            att.inline = True
    return body


_OUTLOOK_PLACEHOLDER = re.compile(r"\\\[cid:([^\]\s\\]+)\\\]")
_GMAIL_PLACEHOLDER = re.compile(r"\\\[image: ?([^\]\n\\]{1,200})\\\]")


def link_inline_images(markdown: str, attachments: list[Attachment]) -> str:
    """Plain-text placeholders of inline images (Outlook ``[cid:…]``, Gmail ``[image: x.png]``)
    → Markdown images pointing at ``cid:`` (publish swaps in the uploaded URL)."""
    by_cid = {a.content_id.lower(): a for a in attachments if a.content_id}
    by_name = {a.filename.lower(): a for a in attachments if a.content_id}

    def outlook(match):
        att = by_cid.get(match.group(1).lower())
        if not att:
            return match.group(0)
        att.inline = True
        return image_markdown(att)

    def gmail(match):
        att = by_name.get(match.group(1).strip().lower().replace("\\", ""))
        if not att:
            return match.group(0)
        att.inline = True
        return image_markdown(att)

    markdown = _OUTLOOK_PLACEHOLDER.sub(outlook, markdown)
    return _GMAIL_PLACEHOLDER.sub(gmail, markdown)
