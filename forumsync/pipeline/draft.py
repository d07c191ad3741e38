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

from ..forum.refusals import (BODY_LONG, BODY_SHORT, BODY_UNCLEAR, TITLE_EMOJI, TITLE_NO_EMOJI,
                              TITLE_SHORT, TITLE_TAKEN, TITLE_UNCLEAR)
from ..mail.cuts import cut_note, post_prefix
from ..mail.ids import post_marker
from ..mail.inert import body_text, escape_fragment, neutralise_text, strip_bidi
from ..mail.subjects import EMPTY_TITLE, decorated_title
from ..mail.text import inline_markdown
from .attach import Attached, inline_image
from .msgdata import post_key
from ..title_form import (EMOJI_SETTINGS, SENTINEL_SETTINGS, broken_long_words, clipped, emoji_count,
                          fewer_emoji, stored_title, title_sentinel)
from .post_inert import inert, normalised

_LEFTOVER_CID = re.compile(r"!\[([^\]\n]*)\]\(cid:[^)\s]*\)", re.IGNORECASE)  # « CID: » too


@dataclass(frozen=True)
class Draft:
    raw: str
    head: str = ""  # notice, attribution, body: what shortening cuts
    tail: str = ""  # attachment links and notes: kept whole
    inline: tuple = ()  # (label, url) of the images the body shows
    own: frozenset = frozenset()  # the URLs of this post's own files (Attached.own)
    title: str | None = None  # new topics only
    category_id: int | None = None  # new topics only
    external_id: str | None = None  # new topics only
    topic_id: int | None = None  # replies only
    reply_to_post_number: int | None = None
    created_at: datetime | None = None
    files: list | None = None  # sent with the post (plugin), else None
    # False: a post too long for the forum, whose text was not checked whole (only its cut is
    # ever published: ``fitted`` cuts it, and ``shortened`` checks the cut and the tail)
    checked: bool = True


def compose(msgdata, attached: Attached, *, notice: str | None = None, cut_over: int | None = None,
            **target) -> Draft:
    """The post for MSGDATA with its ATTACHED files; TARGET: ``title``/``category_id``/
    ``external_id`` for a new topic, ``topic_id``/``reply_to_post_number`` for a reply.
    A post longer than CUT_OVER characters (or whose body left text out) is only ever
    published cut: its whole text is not checked here (the check of a long text is the
    costliest step of an import), only its cut will be (``Draft.checked`` False)."""
    body = msgdata.get("body") or ""
    for cid, url in attached.cids:  # the images only (``attach.inline_image``)
        body = inline_image(cid).sub(lambda m, url=url: f"{m.group(1)}{url})", body)
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
        attribution = neutralise_text(strip_bidi(attribution))
    parts = [p for p in (attribution, body_text(body)) if p]
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
    parts, tail = [normalised(p) for p in parts], [normalised(t) for t in tail]
    checked = not _cut_anyway(msgdata, parts, tail, notice, cut_over)
    if checked:
        parts, tail = inert(parts, tail, attached.own)
    parts = ([notice] if notice else []) + parts
    raw = "\n\n".join(parts + tail + _marker(msgdata))
    return Draft(raw, head="\n\n".join(parts), tail="\n\n".join(tail), inline=tuple(attached.inline),
                 own=frozenset(attached.own),
                 created_at=msgdata.get("date"), files=msgdata.get("post_files"), checked=checked, **target)


def _cut_anyway(msgdata, parts, tail, notice, cut_over: int | None) -> bool:
    """Whether the post will be cut whatever its check neutralises: its body left text out, or
    its normalised text is already over CUT_OVER (neutralising only adds characters)."""
    if cut_over is None:
        return False
    if msgdata.get("full_text"):
        return True
    return len("\n\n".join(([notice] if notice else []) + parts + tail + _marker(msgdata))) > cut_over


def fitted(draft: Draft, msgdata, problems: set[str], *, list_name: str, when: datetime,
           max_chars: int, full_text_url: str | None = None,
           title_rules: dict | None = None, title_limits: dict | None = None) -> Draft:
    """DRAFT adjusted to PROBLEMS (unchanged when none, but a title always within the forum's
    maximum); BODY_LONG needs FULL_TEXT_URL; TITLE_RULES are the forum's title settings
    (``post_limits.title_rules``; Discourse's defaults when unknown), TITLE_LIMITS its title
    maximum and emoji settings (``post_limits.title_limits``). A draft whose text was not
    checked whole is always cut (never published as it is)."""
    if not draft.checked:
        problems = problems | {BODY_LONG}
    title, raw = draft.title, draft.raw
    limits = {"max_topic_title_length": 255, **EMOJI_SETTINGS, **(title_limits or {})}
    if TITLE_NO_EMOJI in problems:
        limits["max_emojis_in_title"] = 0
    unclear = False
    if title is not None:
        sent, why = title, []
        if TITLE_EMOJI in problems:
            title = _fewer_emoji(title, title_rules, limits)
            if title != sent:
                room = limits["max_emojis_in_title"]
                why.append("avec des emoji" if room <= 0 else "avec plus d'un emoji" if room == 1
                           else f"avec plus de {room} emoji")
        title = clipped(title, limits["max_topic_title_length"])  # its lowercase may be past the cut
        if TITLE_UNCLEAR in problems or title != sent:  # fewer emoji: fewer distinct bytes too
            title, unclear, recased = _clearer_title(title, title_rules)
            if recased:
                why.insert(0, "tout en capitales")
        rules = {**SENTINEL_SETTINGS, **(title_rules or {})}
        short = title != sent and len(stored_title(title, title_rules).strip()) < rules["min_topic_title_length"]
        if why:
            note = (f"*(objet du message tel qu'envoyé à la liste, {' et '.join(why)}, que le "
                    f"forum refuse en titre : « {inline_markdown(sent)} »)*")
            # the sender's words: checked and rewritten as the post's text is (a note in the tail
            # is only checked: an address linkify finds after « = » went to quarantine)
            raw = raw + "\n\n" + inert([note], [], draft.own)[0][0]
        maximum = limits["max_topic_title_length"]
        decorate = unclear or short or problems & {TITLE_TAKEN, TITLE_SHORT}
        taken = TITLE_TAKEN in problems
        room = maximum - (len(decorated_title("", list_name, when, taken=taken)) if decorate else 0)
        base = title
        while True:  # measured as the forum stores it (a capital « ß » is « SS »)
            title = clipped(base, room)
            title = decorated_title(title, list_name, when, taken=taken) if decorate else title
            if room <= 1 or len(stored_title(title, title_rules).strip()) <= maximum:
                break
            room -= 1
    if BODY_SHORT in problems:
        raw = raw + (f"\n\n*(message bref transmis tel quel depuis la liste {list_name} ; cette "
                     f"note le complète car le forum refuse les messages trop courts)*")
    elif BODY_UNCLEAR in problems:
        raw = raw + (f"\n\n*(message transmis tel quel depuis la liste {list_name} ; cette note "
                     f"le complète car le forum refuse les messages qu'il juge peu lisibles : "
                     f"tout en capitales, ou fait de trop peu de caractères différents)*")
    if BODY_LONG in problems:
        raw = shortened(draft, msgdata, max_chars, full_text_url)
    return replace(draft, title=title, raw=raw, files=msgdata.get("post_files"))


def _fewer_emoji(title: str, title_rules: dict | None, limits: dict) -> str:
    """TITLE with no more emoji than the forum takes (MaxEmojisValidator, counted as
    ``title_form.emoji_units`` counts them: never fewer than Discourse); with none at all
    when the forum refused a title this count found within its maximum (it counts otherwise)."""
    if emoji_count(stored_title(title, title_rules), limits) <= limits["max_emojis_in_title"]:
        limits = {**limits, "max_emojis_in_title": 0}
    return fewer_emoji(title, limits) or EMPTY_TITLE  # a subject of emoji only: « (sans objet) »


def _clearer_title(title: str, title_rules: dict | None) -> tuple[str, bool, bool]:
    """TITLE made one Discourse's TextSentinel accepts: a title with no lowercase letter
    (refused as « ALL CAPS » where ``title_prettify`` is off, which would have rewritten it)
    is written in sentence case as Discourse's TextCleaner writes it (third value: so
    rewritten; ``fitted`` quotes the subject as sent in a French note); a word too long gets a
    soft hyphen (U+00AD: invisible) every ``title_max_word_length`` letters. Second value:
    still unclear (too few distinct characters, no letter or digit), to be decorated."""
    rules = {**SENTINEL_SETTINGS, **(title_rules or {})}
    recased = False
    if not title_sentinel(title, rules).seems_quiet():
        written = stored_title(title, {"title_prettify": True, "allow_uppercase_posts": False})
        if written != title:
            title, recased = written, True
    title = broken_long_words(title, rules["title_max_word_length"])
    return title, not title_sentinel(stored_title(title, title_rules), rules).valid(), recased


def shortened(draft: Draft, msgdata, max_chars: int, url: str) -> str:
    """A post over the forum's maximum: the beginning, the whole text as an attachment at
    URL, and the attachments' links, also those of inline images whose place was cut:
    nothing of the message is lost."""
    note = cut_note(url)
    head, tail = draft.head, draft.tail
    inline = [(f"![{label}]({link})", link) for label, link in draft.inline]
    room = max_chars - len(note) - len(tail) - sum(len(md) + 1 for md, _ in inline)
    cut = post_prefix(head, room)
    own = draft.own | {link for _label, link in draft.inline}
    if cut:  # a cut may open what the whole closed (a code span, a fence): checked again
        cut = inert([cut], [], own)[0][0]
    if not draft.checked and tail:  # the attachment links and notes, never checked yet
        tail = "\n\n".join(inert([], [tail], own)[1])
    # an image's whole address: « forumsync-file:1 » begins « forumsync-file:12 » (48th pass)
    lost = "\n".join(md for md, link in inline if f"]({link})" not in cut)
    parts = [p for p in (cut.rstrip(), note, lost, tail) if p]
    return "\n\n".join(parts + _marker(msgdata))


def _marker(msgdata) -> list[str]:
    """The hidden marker, on posts not made through the plugin (which finds them by Message-ID)."""
    return [] if msgdata.get("staged") else [post_marker(post_key(msgdata))]
