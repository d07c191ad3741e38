"""Finding quoted history and signatures at the end of a Markdown mail body.

Only what trails the author's own words goes: a top-posted reply loses the history below it
(Outlook's « De : … Envoyé : … » block or ``-----Message d'origine-----``, a « Le … a écrit : »
attribution followed by ``>`` quotes), then its signature (``-- ``, mobile signatures, the
contact block under « Cordialement, Name », a hand-typed « -- », « — », « __ » or line of
dashes above a name and a role, collectivity or phone; a closing that is only a first name
stays). Quotes interleaved with answers stay: they are the context of each answer. Works on
the Markdown that parse produced (HTML mail arrives as ``**De :** …`` lines and ``>``
blockquotes).
"""
from __future__ import annotations

import bisect
import re

from .subjects import fold

_S = r"[ \t\u00a0\u202f]"
_MARK = r"[*_\\]*"  # Markdown emphasis/escapes around header labels

_SEPARATOR = re.compile(
    rf"^{_S}*[\\]?-{{2,}}{_S}*(?:message\s+d['’]origine|original\s+message|(?:mail|message|courriel)\s+original|urspr[üu]ngliche\s+nachricht|"
    rf"mensaje\s+original|messaggio\s+originale){_S}*-{{2,}}{_S}*$", re.IGNORECASE)
_RULE_LINE = re.compile(rf"^{_S}*(?:(?:\\?_){{8,}}|(?:\\?-){{3,}}|\*{_S}*\*{_S}*\*){_S}*$")
_HEADER_FROM = re.compile(rf"^{_S}*{_MARK}(?:de|from|von|da|van){_S}*{_MARK}{_S}*:{_MARK}{_S}*\S",
                          re.IGNORECASE)
_HEADER_NEXT = re.compile(
    rf"^{_S}*{_MARK}(?:envoy[ée]|sent|date|gesendet|datum|à|a|to|an|cc|objet|subject|betreff|"
    rf"re[çc]u|for|destinataire){_MARK}{_S}*(?:le|on)?{_S}*{_MARK}{_S}*:", re.IGNORECASE)
_ATTRIBUTION = re.compile(
    rf"^{_S}*{_MARK}(?:(?:le|on|am|el|il|op)\b.{{4,400}}?\b(?:a{_S}+[ée]crit|wrote|schrieb|escribi[óo]|"
    rf"ha{_S}+scritto|schreef)|am\b.{{4,200}}?\bschrieb\b[^:\n]{{0,80}}|"
    rf".{{2,200}}\b(?:a{_S}+[ée]crit|wrote|schrieb)){_S}*:?{_MARK}{_S}*$",
    re.IGNORECASE)
_VERBS = ("crit", "wrote", "schrieb", "escribi", "scritto", "schreef")  # cheap attribution pre-filter
_QUOTE = re.compile(rf"^{_S}*>")
_SIG_DASHES = re.compile(rf"^{_S}*\\?--{_S}*$")
# Hand-typed separators: an em/en dash, « __ », a line of dashes or underscores (escaped by
# the Markdown conversion: « \--- », « \_\_ »), « *** »; trusted only above a signature block.
_TYPED_SEPARATOR = re.compile(
    rf"^{_S}*(?:\\?[—–]{{1,3}}|(?:\\?_){{2,}}|(?:\\?-){{3,}}|(?:\\?[=~]){{3,}}|(?:\\?\*{_S}*){{3}}){_S}*$")
# « -- Jeanne Dupont » / « --Jeanne »: the separator and the name on one line.
_DASHES_THEN_NAME = re.compile(rf"^{_S}*\\?--{_S}*(?=[^\W\d_])")
_REACHABLE = re.compile(r"(?:@[\w-]+\.\w|\bwww\.|https?://|\[[^\]]*\]\((?:https?|mailto|tel):)", re.IGNORECASE)
# Roles and collectivities of a French public-sector signature (folded, whole words).
_ROLE_OR_BODY = re.compile(
    r"\b(?:mairie|ville|commune|metropole|communaute|agglomeration|agglo|departement|conseil|region|"
    r"syndicat|ccas|cias|prefecture|service|direction|pole|mission|charge|chargee|responsable|chef|"
    r"cheffe|directeur|directrice|adjoint|adjointe|technicien|technicienne|referent|referente|"
    r"administrateur|administratrice|dsi|dgs|dga|agent|gestionnaire|developpeur|developpeuse|"
    r"entr.ouvert|association|sas|sarl|scop)\b")
MAX_TYPED_SIGNATURE_LINES = 10
_MOBILE = re.compile(
    rf"^{_S}*{_MARK}(?:envoy[ée]{_S}+(?:de|depuis|à{_S}+partir{_S}+de){_S}+(?:mon|ma|un|une|my)\b|"
    rf"sent{_S}+from{_S}+my\b|sent{_S}+from{_S}+(?:outlook|mail|yahoo)|get{_S}+outlook{_S}+for|"
    rf"obtenir{_S}+outlook{_S}+pour|t[ée]l[ée]chargez{_S}+outlook|envoy[ée]{_S}+avec\b|"
    rf"von{_S}+meinem\b.{{0,40}}gesendet)", re.IGNORECASE)
_SIGN_OFF = re.compile(
    rf"^{_S}*(?:bien{_S}+)?(?:cordialement|[àa]{_S}+bient[ôo]t|bien{_S}+[àa]{_S}+(?:vous|toi|tous)|"
    rf"salutations|sinc[èe]res{_S}+salutations|bonne{_S}+(?:fin{_S}+de{_S}+)?(?:journ[ée]e|soir[ée]e|semaine)|"
    rf"cdlt|bav|b[àa]v|amicalement|best{_S}+regards|kind{_S}+regards|regards|cheers|thanks|merci)"
    rf"(?:{_S}+[\wàâéèêëîïôûùç ]{{0,30}})?{_S}*[,.!]*{_S}*$", re.IGNORECASE)
_CONTACT = re.compile(rf"(?:\b(?:t[ée]l|tel|t[ée]l[ée]phone|phone|portable|mobile|fax|standard|ligne"
                      rf"{_S}+directe|port)\b\.?{_S}*:?|(?:\+33|\(0\)|\b0[1-9])(?:[ .\-]?\d{{2}}){{4}})",
                      re.IGNORECASE)
MAX_SIGNATURE_LINES = 20


def _blank(line: str) -> bool:
    return not line.strip()


def _outlook_header_at(lines: list[str], i: int) -> bool:
    """« De : X » followed within a few lines by Envoyé/Date, À/Objet lines."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [l for l in lines[i + 1:i + 8] if l.strip()]
    return sum(1 for l in following[:5] if _HEADER_NEXT.match(l)) >= 2


def _attribution_at(lines: list[str], i: int) -> int:
    """Number of lines (1–3) of an attribution starting at line i, 0 when none."""
    for span in (1, 2, 3):
        chunk = lines[i:i + span]
        if len(chunk) < span or any(_blank(l) or _QUOTE.match(l) for l in chunk):
            return 0
        if _ATTRIBUTION.match(" ".join(l.strip() for l in chunk)):
            return span
    return 0


def _lines_containing(words, lines: list[str]) -> set[int]:
    """Indexes of the lines containing one of WORDS (lower-case; str.find over the whole text)."""
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    text = "\n".join(lines).lower()
    found = set()
    for word in words:
        at = text.find(word)
        while at != -1:
            found.add(bisect.bisect_right(starts, at) - 1)
            at = text.find(word, at + 1)
    return found


def _history_start(lines: list[str]) -> int | None:
    """Index where a non-interleaved quoted history starts, or None."""
    verbs = _lines_containing(_VERBS, lines)
    quoted_after = None  # built once, when a first attribution is met
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line) or _outlook_header_at(lines, i):
            start = i
            j = i - 1
            while j >= 0 and _blank(lines[j]):
                j -= 1
            if j >= 0 and _RULE_LINE.match(lines[j]):  # Outlook's rule above the header
                start = j
            return start
        span = _attribution_at(lines, i) if verbs.intersection((i, i + 1, i + 2)) else 0
        if span:
            quoted_after = quoted_after or _quoted_to_the_end(lines)
            if quoted_after[i + span]:
                return i
    # A trailing quote without attribution.
    end = len(lines)
    while end > 0 and (_blank(lines[end - 1]) or _QUOTE.match(lines[end - 1])):
        end -= 1
    if end < len(lines) and any(_QUOTE.match(l) for l in lines[end:]):
        if not any(_QUOTE.match(l) for l in lines[:end]):
            return end
        return end  # after the last interleaved answer: the rest was not answered
    return None


def _quoted_to_the_end(lines: list[str]) -> list[bool]:
    """For each index k (and len(LINES)): LINES[k:] has a non-blank line and all its non-blank
    lines are quoted. One backward pass: a mail of a thousand « … wrote » lines copied and
    scanned the rest of the mail at each one (326 s for 990 KB, red team, seventh pass)."""
    result = [False] * (len(lines) + 1)
    all_quoted, seen = True, False
    for k in range(len(lines) - 1, -1, -1):
        if lines[k].strip():
            seen = True
            all_quoted = all_quoted and bool(_QUOTE.match(lines[k]))
        result[k] = seen and all_quoted
    return result


_FIRST_NAME = re.compile(r"^[*_]*[^\W\d_](?:[^\W\d_]|['’.\-])*[*_]*$")


def _only_a_first_name(rest: list[str]) -> bool:
    """What follows the separator is one word of letters (« Julie », « JF », « Jean-Marc »):
    a closing, kept. git's version trailer (« -- » then « 2.21.0 ») is not a name."""
    words = [l.strip() for l in rest if l.strip()]
    return len(words) == 1 and len(words[0]) <= 30 and bool(_FIRST_NAME.match(words[0]))


def _looks_like_a_name(line: str) -> bool:
    """« Julie Martin », « **Jean-François DUPONT** », « J. Martin - Ville de Lyon »: a capital
    first, a few words, no sentence end. Prose after a rule (« PS : … ») is not a name."""
    text = line.strip().strip("*_\\ ")
    return (bool(text) and text[0].isupper() and len(text.split()) <= 8
            and not text.rstrip().endswith((".", "?", "!", ":", ",", ";")) or bool(_CONTACT.match(text)))


def _signature_block(rest: list[str]) -> bool:
    """Lines that read like a signature: a name then a role, a collectivity, a phone, an
    address or a site — short lines, few of them."""
    lines = [l.strip() for l in rest if l.strip()]
    if not 2 <= len(lines) <= MAX_TYPED_SIGNATURE_LINES or any(len(l) > 120 for l in lines):
        return False
    if any(_QUOTE.match(l) for l in lines) or not _looks_like_a_name(lines[0]):
        return False
    return any(_CONTACT.search(l) or _REACHABLE.search(l) or _ROLE_OR_BODY.search(fold(l))
               for l in lines[1:])


# « PS : », « P.-S. », « NB : », « N.B. » opening a line: what follows is the author's.
_POSTSCRIPT = re.compile(r"^[\s>*_\\]*(?:p\.?[\s-]*s|n\.?\s*b)\b\.?\s*[:.-]?", re.IGNORECASE)
_CLAUSE = re.compile(r"[,;:?!.]\s+\S")  # punctuation with more words after it: a sentence goes on
_LINKS = re.compile(r"<[^<>\s]+>|\S+://\S+")


def _mobile_signature(line: str) -> bool:
    """LINE, which starts as a phone's signature (« Envoyé de mon iPhone », « Envoyé avec
    Proton Mail »), is one: short (its links aside), no clause after its first words, no
    question. « Envoyé depuis mon compte agent, le courriel arrive bien… » is the message
    (red team, twenty-third pass)."""
    if len(line) > 300:  # (links included: a longer line is text, and _LINKS need not read it)
        return False
    text = _LINKS.sub("", line).strip().strip("*_")
    return not (len(text) > 70 or len(text) > 45 and _CLAUSE.search(text) or text.endswith(("?", "!")))


def _signature_start(lines: list[str]) -> int | None:
    n = len(lines)
    for i in range(n - 1, -1, -1):
        if n - i > MAX_SIGNATURE_LINES:
            break
        line = lines[i]
        if _MOBILE.match(line) and _mobile_signature(line):
            return i
        if _SIG_DASHES.match(line):
            return None if _only_a_first_name(lines[i + 1:]) else i
        if _TYPED_SEPARATOR.match(line) and _signature_block(lines[i + 1:]):
            return i
        dashes = _DASHES_THEN_NAME.match(line)
        if dashes and len(line) <= 60 and _signature_block([line[dashes.end():]] + lines[i + 1:]):
            return i
    for i in range(n - 1, -1, -1):
        if n - i > MAX_SIGNATURE_LINES:
            break
        if _SIGN_OFF.match(lines[i]):
            after = [k for k in range(i + 1, n) if lines[k].strip()]
            if any(_POSTSCRIPT.match(lines[k]) for k in after):
                return None  # a « PS : » under the name: the author's words
            if len(after) >= 2 and any(_CONTACT.search(lines[k]) for k in after):
                return after[0] + 1  # keep the sign-off and the name under it
            return None
    return None


def split_trailing(text: str) -> tuple[str, str, str]:
    """(the author's words, what trails them, "history" or "signature": what was trimmed);
    (text, "", "") when nothing trails, and the whole text kept when trimming would leave
    nothing. "signature" only when no quoted history was trimmed."""
    lines = text.split("\n")
    cut = len(lines)
    kind = ""
    start = _history_start(lines)
    if start is not None:
        cut, kind = start, "history"
    sig = _signature_start(lines[:cut])
    if sig is not None:
        cut, kind = sig, kind or "signature"
    if cut < len(lines) and _inside_fenced_code(lines, cut):
        return text, "", ""  # a fold there would end the code block, and leave its rest live
    kept = "\n".join(lines[:cut]).rstrip()
    if 0 < cut < len(lines) and lines[cut - 1].lstrip("> \t"):  # cut inside a paragraph
        lines[cut] = _late_list_item_escaped(lines[cut])
    trimmed = "\n".join(lines[cut:]).strip("\n")
    if not kept.strip() or not trimmed.strip():
        return text, "", ""
    return kept, trimmed, kind


def _inside_fenced_code(lines: list[str], cut: int) -> bool:
    """Whether line CUT is inside a fenced code block (as markdown-it reads the text: in a list
    item or a quote too), after its opening line. The fold placed there would close the block,
    and the rest of the code, written as it came (an HTML mail's ``<pre>``), would be read as
    Markdown, live (red team, 30th pass: a signature in a ``<li><pre>``). Plain text escapes
    its backticks and tildes: without a run of three above the cut, no parse."""
    if not any("```" in line or "~~~" in line for line in lines[:cut]):
        return False
    from .inert import discourse_parser

    tokens = discourse_parser().blocks("\n".join(lines)).tokens
    return any(token.type == "fence" and token.map and token.map[0] < cut < token.map[1]
               for token in tokens)


# A list item's start after its quote markers (possessive: linear on a line of many « > »).
_LIST_START = re.compile(r"(?:[ \t]*+>)*+[ \t]{0,3}(?:\d{1,9}(?P<delimiter>[.)])|(?P<bullet>[-+*]))(?=[ \t]|$)")


def _late_list_item_escaped(line: str) -> str:
    """LINE, the first line of a fold cut from the paragraph it continued, with its list marker
    escaped when that item cannot interrupt a paragraph (CommonMark 5.2: an ordered list not
    starting at 1, an empty item): it was text in the mail, but as the fold's first line it
    would open a list, and the indented code after it, written unescaped because it was code
    in the whole text, would be that item's paragraph, its Markdown live (red team, 29th pass)."""
    match = _LIST_START.match(line)
    if match is None:
        return line
    digits = line[:match.start("delimiter")].lstrip(" \t>") if match.group("delimiter") else ""
    if not (digits and int(digits) != 1) and line[match.end():].strip():
        return line  # « 1. » or a bullet with text: a list in both places
    at = match.start("delimiter") if match.group("delimiter") else match.start("bullet")
    return line[:at] + "\\" + line[at:]


def split_quotes(text: str) -> tuple[str, str]:
    """(the author's words, the trimmed history and signature); see ``split_trailing``."""
    kept, trimmed, _ = split_trailing(text)
    return kept, trimmed
