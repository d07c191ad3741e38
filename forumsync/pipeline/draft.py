"""The pure composer: what a message becomes on the forum, without asking the forum anything.

``compose(msgdata, attached, …)`` returns a ``Draft``: title (new topics), Markdown, category
or topic and post replied to, date, external id, files sent with the post. The Markdown is
notice, attribution, body, attachment links, refusal notes, hidden marker; everything from
the mail is made inert (``post_inert``). ``fitted`` adjusts a draft to refusals foreseen or
learnt (short or reused title, short body, body over the maximum). No I/O here: the files
went first (``attach``), the forum's limits are arguments.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from ..forum.refusals import BODY_LONG, BODY_SHORT, TITLE_SHORT, TITLE_TAKEN
from ..mail.cuts import markdown_prefix
from ..mail.ids import post_marker
from ..mail.inert import escape_fragment, neutralise_mentions, strip_bidi
from .attach import FULL_TEXT_NAME, Attached
from .post_inert import inert

_LEFTOVER_CID = re.compile(r"!\[([^\]\n]*)\]\(cid:[^)\s]*\)")


@dataclass(frozen=True)
class Draft:
    raw: str
    head: str = ""  # notice, attribution, body: what shortening cuts
    tail: str = ""  # attachment links and notes: kept whole
    inline: tuple = ()  # (label, url) of the images the body shows
    title: str | None = None  # new topics only
    category_id: int | None = None  # new topics only
    external_id: str | None = None  # new topics only
    topic_id: int | None = None  # replies only
    reply_to_post_number: int | None = None
    created_at: datetime | None = None
    files: list | None = None  # sent with the post (plugin), else None


def compose(msgdata, attached: Attached, *, notice: str | None = None, **target) -> Draft:
    """The post for MSGDATA with its ATTACHED files; TARGET: ``title``/``category_id``/
    ``external_id`` for a new topic, ``topic_id``/``reply_to_post_number`` for a reply."""
    body = msgdata.get("body") or ""
    for cid, url in attached.cids:
        body = body.replace(f"cid:{cid}", url)
    body = _LEFTOVER_CID.sub(lambda m: m.group(1), body)  # an image the mail did not carry
    links, notes, omitted = attached.links, list(attached.notes), attached.omitted
    used = sum(len(link) + 1 for link in links)
    for refused in msgdata.get("refused_attachments") or []:
        note = (f"« {escape_fragment(refused.get('filename') or 'sans nom')} » : "
                f"{escape_fragment(refused.get('reason', ''))}")
        if used + len(note) + 40 > attached.budget:
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
        s = "s" if omitted > 1 else ""
        tail.append(f"*… et {omitted} autre{s} pièce{s} jointe{s} non reprise{s} "
                    "(trop nombreuses pour un message du forum).*")
    parts, tail = inert(parts, tail, attached.own)
    parts = ([notice] if notice else []) + parts
    raw = "\n\n".join(parts + tail + _marker(msgdata))
    return Draft(raw, head="\n\n".join(parts), tail="\n\n".join(tail), inline=tuple(attached.inline),
                 created_at=msgdata.get("date"), files=msgdata.get("post_files"), **target)


def fitted(draft: Draft, msgdata, problems: set[str], *, list_name: str, when: datetime,
           max_chars: int, full_text_url: str | None = None) -> Draft:
    """DRAFT adjusted to PROBLEMS (unchanged when none); BODY_LONG needs FULL_TEXT_URL."""
    title, raw = draft.title, draft.raw
    if title is not None and TITLE_TAKEN in problems:
        title = f"{title} ({list_name}, {when:%d/%m/%Y %H:%M})"
    elif title is not None and TITLE_SHORT in problems:
        title = f"{title} ({list_name}, {when:%d/%m/%Y})"
    if BODY_SHORT in problems:
        raw = raw + (f"\n\n*(message bref transmis tel quel depuis la liste {list_name} ; cette "
                     f"note le complète car le forum refuse les messages trop courts)*")
    if BODY_LONG in problems:
        raw = shortened(draft, msgdata, max_chars, full_text_url)
    return replace(draft, title=title, raw=raw, files=msgdata.get("post_files"))


def shortened(draft: Draft, msgdata, max_chars: int, url: str) -> str:
    """A post over the forum's maximum: the beginning, the whole text as an attachment at
    URL, and the attachments' links, also those of inline images whose place was cut:
    nothing of the message is lost."""
    note = (f"*Message tronqué (trop long pour le forum) : texte complet en pièce jointe "
            f"[{FULL_TEXT_NAME}|attachment]({url}).*")
    head, tail = draft.head, draft.tail
    inline = [(f"![{label}]({link})", link) for label, link in draft.inline]
    room = max_chars - len(note) - len(tail) - sum(len(md) + 1 for md, _ in inline)
    cut = markdown_prefix(head, room)
    if cut:  # a cut may open what the whole closed (a code span, a fence): checked again
        cut = inert([cut], [], {link for _label, link in draft.inline})[0][0]
    lost = "\n".join(md for md, link in inline if link not in cut)
    parts = [p for p in (cut.rstrip(), note, lost, tail) if p]
    return "\n\n".join(parts + _marker(msgdata))


def _marker(msgdata) -> list[str]:
    """The hidden marker, on posts not made through the plugin (which finds them by Message-ID)."""
    return [] if msgdata.get("staged") else [post_marker(msgdata["message_id"])]
