"""Topic titles from mail subjects: no list tag, no reply/forward chains, theme tags aside."""
from __future__ import annotations

from .inert import strip_bidi

import functools
import re
import unicodedata

EMPTY_TITLE = "(sans objet)"
MAX_TITLE = 255

_SPACE = "[\\s\u00a0\u202f\u2007]"
# Reply/forward prefixes of French, English, German, Nordic, Dutch… clients, with counters
# (``Re[2]:``, ``RE(3):``) and a (non-breaking) space before the colon as French typing has.
# The patterns have no "^": they are used with ``match(text, pos)``, which anchors at POS
# (a walk along the subject without copying its rest at each step: linear on 10,000 tags).
_PREFIX = re.compile(
    rf"{_SPACE}*(?:re|r[ée]f\.?|ref|tr|fwd?|fw|aw|wg|sv|vs|antw|rif|réponse|transf\.?)"
    rf"{_SPACE}*(?:\[\d+\]|\(\d+\))?{_SPACE}*[:：]{_SPACE}*",
    re.IGNORECASE)
_BRACKET = re.compile(rf"{_SPACE}*\[([^\[\]]{{1,40}})\]{_SPACE}*")
_SPAM = re.compile(rf"{_SPACE}*(?:\*{{2,3}}{_SPACE}*spam{_SPACE}*\*{{2,3}}|\({_SPACE}*spam{_SPACE}*\))"
                   rf"{_SPACE}*", re.IGNORECASE)
# Bracketed words that gateways and filters add: not theme tags.
_NOISE_TAGS = {"spam", "suspected spam", "possible spam", "probable spam", "spam?", "ext", "externe",
               "external", "externe - attention", "suspicious message", "phishing", "warning",
               "attention", "marketing", "pub", "bulk", "fwd", "tr", "no subject"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b\ufeff]")
_FWD_SUFFIX = re.compile(rf"{_SPACE}*\((?:fwd|tr)\){_SPACE}*$", re.IGNORECASE)


# Which of those prefixes answer a message (the others forward one). « R: » and « Rép. : »
# are only recognised in chains (``subject_chain``): titles keep them, as they always did.
_REPLY_WORDS = {"re", "ref", "réf", "rif", "réponse", "aw", "sv", "vs", "antw", "r", "rép", "rep"}
_CHAIN_PREFIX = re.compile(
    rf"{_SPACE}*(re|r[ée]f|rif|r[ée]ponse|r[ée]p|r|aw|sv|vs|antw|tr|fwd?|fw|wg|transf)\.?"
    rf"{_SPACE}*(?:\[\d+\]|\(\d+\))?{_SPACE}*[:：]{_SPACE}*",
    re.IGNORECASE)


class SubjectChain:
    """The reply/forward prefixes in front of a subject, in order, and where the list tag was.

    « TR : RE: [liste] Sujet » is a forward of a list reply: ``prefixes`` is
    ("forward", "reply"), ``is_reply`` is true (a reply prefix anywhere in the chain) and
    ``tag_after_forward`` too (the forwarded subject carried the list tag: it was list mail).
    """

    __slots__ = ("prefixes", "tag_after_forward")

    def __init__(self, prefixes: tuple[str, ...], tag_after_forward: bool):
        self.prefixes = prefixes
        self.tag_after_forward = tag_after_forward

    @property
    def is_reply(self) -> bool:
        return "reply" in self.prefixes

    @property
    def is_forward(self) -> bool:
        return bool(self.prefixes) and self.prefixes[0] == "forward"

    def __repr__(self) -> str:
        return f"SubjectChain({self.prefixes!r}, tag_after_forward={self.tag_after_forward})"


def subject_chain(subject: str | None, list_tag: str | None = None) -> SubjectChain:
    """Walk the prefixes, bracketed tags and spam marks at the start of a subject."""
    text = " ".join(_CONTROL.sub(" ", subject or "").split())
    tag = (list_tag or "").strip().lower()
    prefixes: list[str] = []
    tag_after_forward = False
    pos = 0
    while True:
        match = _CHAIN_PREFIX.match(text, pos)
        if match:
            word = fold(match.group(1))
            prefixes.append("reply" if word in _REPLY_FOLDED else "forward")
            pos = match.end()
            continue
        match = _BRACKET.match(text, pos) or _SPAM.match(text, pos)
        if match:
            if tag and match.group(0).strip().lower() == tag and "forward" in prefixes:
                tag_after_forward = True
            pos = match.end()
            continue
        break
    return SubjectChain(tuple(prefixes), tag_after_forward)


def clean_subject(subject: str | None, list_tag: str | None = None) -> tuple[str, list[str]]:
    """(title, theme tags) of a decoded subject. The list tag is removed wherever it is."""
    # Bidi controls (U+202E…) leave, as in names and file names (mail.inert.strip_bidi).
    text = _CONTROL.sub(" ", strip_bidi(subject or ""))
    text = " ".join(text.replace("\u00a0", " ").split())
    if list_tag:
        text = re.sub(re.escape(list_tag), " ", text, flags=re.IGNORECASE)
        text = " ".join(text.split())
    tags: list[str] = []
    seen: set[str] = set()
    pos = 0
    while True:
        before = pos
        for pattern in (_PREFIX, _SPAM):
            match = pattern.match(text, pos)
            if match:
                pos = match.end()
        match = _BRACKET.match(text, pos)
        if match:
            tag = match.group(1).strip()
            if tag.lower() not in _NOISE_TAGS and tag and tag not in seen:
                tags.append(tag)
                seen.add(tag)
            pos = match.end()
        if pos == before:
            break
    text = _FWD_SUFFIX.sub("", text[pos:]).strip(" -:")
    if not text:
        text = EMPTY_TITLE
    if len(text) > MAX_TITLE:
        text = text[:MAX_TITLE - 1].rstrip() + "…"
    return text, tags


_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """Lower-case, accent-free text (for keys and keyword matching)."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


_REPLY_FOLDED = frozenset(fold(word) for word in _REPLY_WORDS)


def subject_key(title: str) -> str:
    """Key under which two subjects thread together: folded, punctuation-insensitive."""
    words = re.findall(r"\w+", fold(title))
    return " ".join(words)


def decorated_title(title: str, list_name: str, when, taken: bool) -> str:
    """TITLE made acceptable to the forum, which refused it as too short or already used: the
    list's name and the message's date (the time too for a used title) after it."""
    return f"{title} ({list_name}, {when:%d/%m/%Y %H:%M})" if taken else f"{title} ({list_name}, {when:%d/%m/%Y})"


def undecorated_title(title: str, list_name: str) -> str:
    """TITLE without the suffixes ``decorated_title`` gave it (a continuation of a topic whose
    title was decorated may have two): the subject the list knows the thread by. For topics
    forumsync opened from list mail only (a forum member's own words are theirs)."""
    suffix = _decoration(list_name)
    while True:
        shorter = suffix.sub("", title)
        if shorter == title or not shorter.strip():
            return title
        title = shorter


@functools.lru_cache(maxsize=8)
def _decoration(list_name: str) -> re.Pattern:
    """The suffix ``decorated_title`` writes for LIST_NAME (compiled once per name)."""
    return re.compile(rf" \({re.escape(list_name)}, \d{{2}}/\d{{2}}/\d{{4}}(?: \d{{2}}:\d{{2}})?\)$")
