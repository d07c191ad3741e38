"""The check ``publish`` makes on a post's Markdown, run ahead in the pool processes.

Before a post leaves, its Markdown is checked as Discourse would cook it
(``mail.inert.live_syntax``: a markdown-it parse, most of the main process's CPU during an
import). For the common post — a message without attachments, whose Markdown from the mail
is its body — a pool process (``ahead_pool.run_ahead``) runs that check on the text the post
will have, and the main side hands the answer to ``live_syntax``'s memo, keyed by that exact
text: ``live_syntax`` returns it only for that very text, so the answer is the one it would
have computed; any other text (an attribution, attachments, a notice…) is checked on the
main side as before.

A body longer than ``cut_over`` (the forum's maximum, sent with the settings) is published
cut, never whole (``draft.compose``): its whole text is not checked at all, and the text
checked ahead is the cut the main side will most likely make — the body's beginning before
the note linking the whole text as the first file sent with the post (``forumsync-file:0``,
a staged sender's post through the plugin). Any other cut is checked on the main side.
"""
from __future__ import annotations

from ..mail.cuts import cut_note, post_prefix
from ..mail.inert import body_text, live_syntax, normalised, remember_live_syntax

ONEBOX = True  # post_inert checks with oneboxes
FIRST_FILE = "forumsync-file:0"  # the whole text, the only file of a post without attachments


def expected_texts(msgdata, cut_over: int | None = None) -> list[str]:
    """The post text expected for MSGDATA after the AHEAD stages (none when unsure); for a
    body over CUT_OVER, or one that left text out, its expected cut."""
    if msgdata.get("attachments") or msgdata.get("refused_attachments"):
        return []
    body = (msgdata.get("body") or "")
    if "cid:" in body:  # the composer rewrites those
        return []
    text = normalised(body_text(body))
    if cut_over is not None and (msgdata.get("full_text") or len(text) > cut_over):
        text = post_prefix(text, cut_over - len(cut_note(FIRST_FILE)))  # as draft.shortened
    return [text] if text else []


def run(msgdata, cut_over: int | None = None) -> list[tuple[str, list[str]]]:
    """In a pool process: (text, live_syntax's answer) for each expected text."""
    return [(text, live_syntax(text, (), onebox=ONEBOX)) for text in expected_texts(msgdata, cut_over)]


def hand_over(checks) -> None:
    """On the main side: the pool's answers, for ``live_syntax`` to use on those texts."""
    for text, problems in checks or ():
        remember_live_syntax(text, (), ONEBOX, problems)
