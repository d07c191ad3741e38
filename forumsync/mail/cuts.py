"""Where Markdown too long is cut: at a line end, else at a space, else where it must.

A single line of links cut inside « [a.fr](<http://a.fr> » leaves a bare address that the
last check of a post cannot make inert, and the whole post is held (red team, seventh pass).
A cut inside fenced code (a ``<pre>`` log) left the fence open: the cut note and the
attachment links after it were shown as code, their links dead (nineteenth pass): such a cut
is closed with its own fence, or moved before the fence (``post_prefix``).
"""
from __future__ import annotations

FULL_TEXT_NAME = "message-complet.txt"  # the whole text of a post cut, attached to it


def cut_note(url: str) -> str:
    """The line that follows a post cut for the forum, linking its whole text at URL."""
    return (f"*Message tronqué (trop long pour le forum) : texte complet en pièce jointe "
            f"[{FULL_TEXT_NAME}|attachment]({url}).*")


def markdown_prefix(markdown: str, limit: int) -> str:
    """MARKDOWN's beginning, at most LIMIT characters (LIMIT ≤ 0: nothing), ending at the last
    line end of its second half, else at its last space there, else at LIMIT."""
    if limit <= 0:
        return ""
    kept = markdown[:limit]
    if len(kept) < len(markdown):
        for end in ("\n", " "):
            at = kept.rfind(end)
            if at > limit // 2:
                return kept[:at]
    return kept


_SENTINEL = "forumsync"  # a paragraph after the cut: where the note will be


def post_prefix(markdown: str, limit: int) -> str:
    """``markdown_prefix``, and what follows it (after a blank line) is never inside fenced
    code: an open fence is closed, within LIMIT, else the cut ends before that fence. (Only
    a fence outside any container can be open there: a blank line then a paragraph ends a
    blockquote or a list item, and a fence with it.)"""
    cut = markdown_prefix(markdown, limit)
    if "```" not in cut and "~~~" not in cut:  # no fence can be open
        return cut
    fence = _open_fence(cut)
    if fence is None:
        return cut
    lines = cut.split("\n")
    opening = lines[fence.map[0]]
    closed = cut + "\n" + opening[:len(opening) - len(opening.lstrip(" "))] + fence.markup
    if len(closed) <= limit and _open_fence(closed) is None:
        return closed
    before = "\n".join(lines[:fence.map[0]]).rstrip()
    return before if _open_fence(before) is None else ""


def _open_fence(text: str):
    """The fence token of TEXT whose code a paragraph after TEXT would still be in, or None."""
    from .inert import discourse_parser, fence_lines

    probe = text + "\n\n" + _SENTINEL
    tokens = discourse_parser().blocks(probe).tokens
    last = probe.count("\n")
    if last not in fence_lines(tokens):
        return None
    return next((t for t in tokens if t.type == "fence" and t.map and t.map[0] <= last < t.map[1]), None)
