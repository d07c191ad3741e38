"""What Discourse's server reads in a post's raw text with regular expressions, apart from
cooking: quote BBCode naming a user or a post.

Cooking decides what readers see, and the parse stage makes that inert. But a few server
jobs scan the raw itself, code blocks, link addresses and image labels included, and an
escape does not stop them (``\\[quote="admin,`` still holds ``[quote="admin,``):

- ``PostAlerter#extract_quoted_users`` (app/services/post_alerter.rb): ``[quote="NAME,…"]``
  sends NAME a ``quoted`` notification (an email by default), one per line, no cap; with
  ``display_name_on_posts`` it reads ``username:NAME"]`` instead;
- ``Post#extract_quoted_post_numbers`` (app/models/post.rb): ``[quote="…post:N…"]`` files
  the post as a reply to post N of the topic (``PostReply``, N's reply count);
- the chat plugin's ``Chat::PostNotificationHandler#extract_quoted_users``
  (plugins/chat/lib/chat/post_notification_handler.rb): ``[chat quote="NAME;…"]`` sends NAME
  a ``chat_quoted`` notification.

``break_raw_readers`` leaves none of them a match, and changes nothing a reader sees: where
the match starts in a link's address (an autolink ``<…>`` or a ``](…)`` destination), its
``"`` is written ``%22``, the very address a browser requests; elsewhere (text, code, an
image's label) a zero-width space follows the ``[`` of ``[quote="`` / ``[chat quote="``, or
precedes the ``"`` of ``username:…"]``. Red team, 41st pass.
"""
from __future__ import annotations

import re

ZWSP = "\u200b"
# Ruby's patterns, as written in Discourse (Ruby's "." stops at a line end, as Python's; its
# [[:alnum:]] is read wider here, \w: breaking more than needed changes nothing visible).
READERS = {
    "quoted": re.compile(r'\[quote="([^,]+),.+"\]'),                 # PostAlerter
    "quoted username": re.compile(r'username:(\w*)"(?=\])'),          # PostAlerter, display names
    "quoted post": re.compile(r'\[quote="([^"]+)"\]'),                # Post#extract_quoted_post_numbers
    "chat quoted": re.compile(r'\[chat quote="([^;]+);.+"\]'),        # chat plugin
}
# What each needs literally, where a break goes: the "[" of ``[quote="`` or ``[chat quote="``
# (every one, matched or not: a match may also end in another part of the post), the end of
# ``username:NAME`` before ``"]``.
_STARTS = re.compile(r'\[(?=(?:chat )?quote=")|username:\w*(?="\])')
# Link addresses: an autolink (CommonMark: a scheme, no space, "<" or ">"), a destination
# in angle brackets, a bare destination (up to a space or a closing parenthesis).
_ADDRESSES = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\x00-\x20]*>"
                        r"|\]\(<[^<>\n]*>|\]\([^\s()<>]*")


def raw_reader_claims(text: str) -> list[str]:
    """What Discourse's raw readers would find in TEXT: ``quoted NAME``, ``quoted post …``…"""
    if not _STARTS.search(text):
        return []
    return [f"{kind} {match.group(1).strip()[:40]}" for kind, pattern in READERS.items()
            for match in pattern.finditer(text)]


def break_raw_readers(text: str) -> str:
    """TEXT where none of ``READERS`` can match, shown as before (see the module docstring)."""
    starts = list(_STARTS.finditer(text))
    for start in reversed(starts):  # from the end: the earlier positions stay valid
        if start.group(0) == "[":
            quote = text.index('"', start.start())  # the '"' after "quote="
            zwsp_at = start.start() + 1
        else:
            quote = zwsp_at = start.end()  # the '"' before "]"
        if _in_address(text, quote):
            text = text[:quote] + "%22" + text[quote + 1:]
        else:
            text = text[:zwsp_at] + ZWSP + text[zwsp_at:]
    return text


def _in_address(text: str, index: int) -> bool:
    """Whether INDEX lies in a link's address on its line (see ``_ADDRESSES``)."""
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = text[start:len(text) if end < 0 else end]
    return any(m.start() < index - start < m.end() for m in _ADDRESSES.finditer(line))
