"""Stage: remove trailing quoted history and signatures, kept in a collapsed block.

Forwarded mail (TR:/Fwd:) keeps its forwarded part: that is the message's content.
"""
from __future__ import annotations

import re

from forumsync.mail.quotes import split_quotes

DETAILS_TITLE = "Message cité"
_FORWARD = re.compile(r"^\s*(?:\[[^\]]*\]\s*)*(?:tr|fwd?|transf\.?)\s*:", re.IGNORECASE)


def trim_body(body: str, forwarded: bool = False) -> tuple[str, bool]:
    """(new body, whether something was trimmed)."""
    if forwarded:
        return body, False
    kept, trimmed = split_quotes(body)
    if not trimmed:
        return body, False
    return f'{kept}\n\n[details="{DETAILS_TITLE}"]\n{trimmed}\n[/details]', True


def process(ctx, msg, msgdata):
    forwarded = bool(_FORWARD.match(msgdata.get("subject") or ""))
    msgdata["body"], msgdata["trimmed"] = trim_body(msgdata.get("body") or "", forwarded)
