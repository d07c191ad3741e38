"""Stage: remove trailing quoted history and signatures, kept in a collapsed block.

The block is titled « Message cité » when it holds quoted history, « Signature » when it holds
only a signature. Forwarded mail (TR:/Fwd:) keeps its forwarded part: that is the message's
content.
"""
from __future__ import annotations

import re

from forumsync.mail.quotes import split_trailing
from .msgdata import MsgData

DETAILS_TITLE = "Message cité"
SIGNATURE_TITLE = "Signature"
# Where the author's words end in a trimmed body (route reads keywords above it).
FOLDED = re.compile(rf'\[details="(?:{DETAILS_TITLE}|{SIGNATURE_TITLE})"\]')
_FORWARD = re.compile(r"^\s*(?:\[[^\]]*\]\s*)*(?:tr|fwd?|transf\.?)\s*:", re.IGNORECASE)


# A line of the mail that opens or closes a [details] block (only a <pre> of an HTML mail can
# hold one: text escapes "["): it would pass for the fold written here, or close it early and
# leave what follows live while the check reads it as code (red-team, fifth pass).
_DETAILS_LINE = re.compile(r"^([ \t]*(?:>[ \t]?)*)\[(/?details)(?![a-z])", re.I | re.A | re.M)


def trim_body(body: str, forwarded: bool = False) -> tuple[str, bool]:
    """(new body, whether something was trimmed). The mail's own ``[details`` lines are
    escaped first, code included: the only fold lines left are the ones written here."""
    body = _DETAILS_LINE.sub(r"\1\\[\2", body)
    if forwarded:
        return body, False
    kept, trimmed, kind = split_trailing(body)
    if not trimmed:
        return body, False
    title = SIGNATURE_TITLE if kind == "signature" else DETAILS_TITLE
    # A blank line after the opening line: Discourse reads the fold as a container, whose
    # first line may be indented code; markdown-it without that container (``live_syntax``)
    # read it as the paragraph of « [details=…] » and its code as live (red team, 25th pass).
    return f'{kept}\n\n[details="{title}"]\n\n{trimmed}\n[/details]', True


def authors_words(body: str) -> str:
    """The body above its folded history or signature."""
    return FOLDED.split(body, maxsplit=1)[0]


def process(ctx, msg, msgdata: MsgData):
    forwarded = bool(_FORWARD.match(msgdata.get("subject") or ""))
    msgdata["body"], msgdata["trimmed"] = trim_body(msgdata.get("body") or "", forwarded)
