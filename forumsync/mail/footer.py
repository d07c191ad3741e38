"""Removing the mailing list's footer (Mailman's ``____`` line and list-info block)."""
from __future__ import annotations

import re

_RULE = re.compile(r"^[ \t>]*(?:\\?_){20,}[ \t]*$", re.MULTILINE)  # also Markdown-escaped
# What the block under the rule says when it is a list footer (Mailman 2/3, Sympa, French).
_LIST_INFO = re.compile(r"listinfo|mailman|unsubscribe|d[ée]sinscri|d[ée]sabonn|mailing\s+list|"
                        r"liste\s+de\s+diffusion|list\s+info", re.IGNORECASE)
MAX_FOOTER_LINES = 15


def strip_footer(text: str, patterns=()) -> tuple[str, bool]:
    """(text without the list footer, whether one was removed). PATTERNS are extra regexes
    (settings.LIST_FOOTER_PATTERNS): everything from the first match to the end goes."""
    cut = len(text)
    for match in _RULE.finditer(text):
        tail = text[match.end():]
        if tail.strip() and tail.count("\n") <= MAX_FOOTER_LINES and _LIST_INFO.search(tail):
            cut = match.start()
            break
    for pattern in patterns:
        try:
            found = re.search(pattern, text[:cut], re.MULTILINE | re.IGNORECASE)
        except re.error:  # a bad pattern in settings must not stop the pipeline
            continue
        if found:
            cut = found.start()
    if cut == len(text):
        return text, False
    return text[:cut].rstrip(), True
