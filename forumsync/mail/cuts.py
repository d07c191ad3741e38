"""Where Markdown too long is cut: at a line end, else at a space, else where it must.

A single line of links cut inside « [a.fr](<http://a.fr> » leaves a bare address that the
last check of a post cannot make inert, and the whole post is held (red team, seventh pass).
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
