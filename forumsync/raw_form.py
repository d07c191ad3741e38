"""A post's raw as Discourse stores it.

PostCreator#setup_post and PostRevisor#cleanup_whitespaces write the spaces of
``TextCleaner.normalize_whitespaces`` (lib/text_cleaner.rb: no-break, thin, ideographic…
spaces, line and paragraph separators) as plain spaces and strip the trailing whitespace
before saving. What forumsync compares with a post's stored raw (the catalogue), and what
Discourse's raw readers scan (``mail.raw_readers``), is that form; the local forum stores it.
"""
from __future__ import annotations

import re

STORED_SPACES = re.compile("[\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def spaces_as_stored(text: str) -> str:
    """TEXT with those spaces written as " " (one character for one: positions hold)."""
    return STORED_SPACES.sub(" ", text) if STORED_SPACES.search(text) else text


def stored_raw(raw: str | None) -> str:
    """RAW as Discourse saves it."""
    return spaces_as_stored(raw or "").rstrip()
