"""Topic titles from mail subjects: no list tag, no reply/forward chains, theme tags aside."""
from __future__ import annotations

import re
import unicodedata

EMPTY_TITLE = "(sans objet)"
MAX_TITLE = 255

_SPACE = "[\\s\u00a0\u202f\u2007]"
# Reply/forward prefixes of French, English, German, Nordic, Dutch… clients, with counters
# (``Re[2]:``, ``RE(3):``) and a (non-breaking) space before the colon as French typing has.
_PREFIX = re.compile(
    rf"^{_SPACE}*(?:re|r[ée]f\.?|ref|tr|fwd?|fw|aw|wg|sv|vs|antw|rif|réponse|transf\.?)"
    rf"{_SPACE}*(?:\[\d+\]|\(\d+\))?{_SPACE}*[:：]{_SPACE}*",
    re.IGNORECASE)
_BRACKET = re.compile(rf"^{_SPACE}*\[([^\[\]]{{1,40}})\]{_SPACE}*")
_SPAM = re.compile(rf"^{_SPACE}*(?:\*{{2,3}}{_SPACE}*spam{_SPACE}*\*{{2,3}}|\({_SPACE}*spam{_SPACE}*\))"
                   rf"{_SPACE}*", re.IGNORECASE)
# Bracketed words that gateways and filters add: not theme tags.
_NOISE_TAGS = {"spam", "suspected spam", "possible spam", "probable spam", "spam?", "ext", "externe",
               "external", "externe - attention", "suspicious message", "phishing", "warning",
               "attention", "marketing", "pub", "bulk", "fwd", "tr", "no subject"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b\ufeff]")
_FWD_SUFFIX = re.compile(rf"{_SPACE}*\((?:fwd|tr)\){_SPACE}*$", re.IGNORECASE)


def clean_subject(subject: str | None, list_tag: str | None = None) -> tuple[str, list[str]]:
    """(title, theme tags) of a decoded subject. The list tag is removed wherever it is."""
    text = _CONTROL.sub(" ", subject or "")
    text = " ".join(text.replace("\u00a0", " ").split())
    if list_tag:
        text = re.sub(re.escape(list_tag), " ", text, flags=re.IGNORECASE)
        text = " ".join(text.split())
    tags: list[str] = []
    while True:
        before = text
        text = _PREFIX.sub("", text, count=1)
        text = _SPAM.sub("", text, count=1)
        match = _BRACKET.match(text)
        if match:
            tag = match.group(1).strip()
            if tag.lower() not in _NOISE_TAGS and tag and tag not in tags:
                tags.append(tag)
            text = text[match.end():]
        if text == before:
            break
    text = _FWD_SUFFIX.sub("", text).strip(" -:")
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


def subject_key(title: str) -> str:
    """Key under which two subjects thread together: folded, punctuation-insensitive."""
    words = re.findall(r"\w+", fold(title))
    return " ".join(words)
