"""What Discourse's server (and forumsync's plugin) reads in a post's raw text with regular
expressions, apart from cooking: quote BBCode naming a user or a post, file references.

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

forumsync's own plugin reads the raw too: a post sent with its files names the Nth one
``forumsync-file:N`` (``PostFiles::REFERENCE``, plugin/lib/forumsync/post_files.rb; the local
forum's ``plugin_params.FILE_REFERENCE``), code and labels included, and replaces it by that
upload's address; a number with no file refuses the post. The sender's own
``forumsync-file:0`` refused their post (published by the bridge account instead) or became
the address of a file they attached (red team, 46th pass).

``break_raw_readers`` leaves none of them a match, and changes nothing a reader sees: where
the match starts in a link's address (an autolink ``<…>`` or a ``](…)`` destination), its
``"`` is written ``%22``, the very address a browser requests; elsewhere (text, code, an
image's label) a zero-width space follows the ``[`` of ``[quote="`` / ``[chat quote="``, or
the ``:`` of ``username:…"]`` or of ``forumsync-file:`` (in an address, that ``:`` is
written ``%3A``). Only the references forumsync writes itself, a link's whole address
``](forumsync-file:N)`` naming one of its own files (OWN), are left alone. Both read the text as Discourse stores it: PostCreator and
PostRevisor write the spaces of ``TextCleaner.normalize_whitespaces`` as plain spaces first
(``[chat\u2003quote="`` is stored ``[chat quote="``). Red team, 41st and 43rd passes.
"""
from __future__ import annotations

import bisect
import re

from ..raw_form import spaces_as_stored

ZWSP = "\u200b"
# Ruby's patterns, as written in Discourse (Ruby's "." stops at a line end, as Python's).
# Onigmo's [[:alnum:]] is Unicode (Alphabetic, so marks: "राम"), wider than Python's \w: read
# here as anything but '"', a space or the zero-width space the break puts after "username:".
READERS = {
    "quoted": re.compile(r'\[quote="([^,]+),.+"\]'),                  # PostAlerter
    "quoted username": re.compile(r'username:([^"\s\u200b]*)"(?=\])'),  # PostAlerter, display names
    "quoted post": re.compile(r'\[quote="([^"]+)"\]'),                 # Post#extract_quoted_post_numbers
    "chat quoted": re.compile(r'\[chat quote="([^;]+);.+"\]'),         # chat plugin
}
# What each needs literally, where a break goes: the "[" of ``[quote="`` or ``[chat quote="``
# (every one, matched or not: a match may also end in another part of the post), the ":" of
# ``username:NAME"]``.
_STARTS = re.compile(r'\[(?=(?:chat )?quote=")|username:(?=[^"\s\u200b]*"\])|forumsync-file:(?=\d)')
FILE_REFERENCE = "forumsync-file:"  # Ruby's \d is ASCII, Python's wider: every digit is broken
# Link addresses: an autolink (CommonMark: a scheme, no space, "<" or ">"), a destination
# in angle brackets, a bare destination (up to a space or a closing parenthesis); not after
# an escaped "\]" (text, not a link): an odd number of backslashes before it (two are an
# escaped backslash, then a link: 44th pass).
_NOT_ESCAPED = r"(?<!\\)(?:\\\\)*"
_ADDRESSES = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\x00-\x20]*>"
                        rf"|{_NOT_ESCAPED}\]\(<[^<>\n]*>|{_NOT_ESCAPED}\]\([^\s()<>]*")


def raw_reader_claims(text: str, own=frozenset()) -> list[str]:
    """Where Discourse's raw readers could find something in TEXT once stored: each start
    ``break_raw_readers`` would break (``quoted …``, ``quoted username …``, ``chat quoted …``,
    ``file reference …``). Every start counts, matched or not (a match's end may come from
    text added later), and looking for starts is linear where the readers' own patterns are
    not (``[^,]+`` runs to the end of the text from each start). OWN: see ``_own_reference``."""
    stored = spaces_as_stored(text)
    claims = []
    for match in _STARTS.finditer(stored):
        if match.group(0) == FILE_REFERENCE:
            if not _own_reference(stored, match, own):
                claims.append(f"file reference {_reference(stored, match)}")
            continue
        if match.group(0) != "[":
            kind, name_at = "quoted username", match.end()
        else:
            kind = "chat quoted" if stored.startswith("[chat", match.start()) else "quoted"
            name_at = stored.index('"', match.start()) + 1
        claims.append(f"{kind} {_NAME.match(stored, name_at).group(0)}")
    return claims


_NAME = re.compile(r'[^,;"\n]{0,40}')  # what a claim shows of the name (for a reason given)


def break_raw_readers(text: str, own=frozenset()) -> str:
    """TEXT where none of ``READERS`` (nor the plugin's file references) can match once
    stored, shown as before (see the module docstring); OWN: see ``_own_reference``. Linear:
    the addresses found once, the result built from pieces."""
    stored = spaces_as_stored(text)
    starts = list(_STARTS.finditer(stored))
    if not starts:
        return text
    addresses = _address_spans(stored)
    pieces, pos = [], 0
    for start in starts:
        if start.group(0) == FILE_REFERENCE:
            colon = start.end() - 1
            if colon < pos or _own_reference(stored, start, own):
                continue
            if _inside(addresses, colon):
                pieces.append(text[pos:colon] + "%3A")
                pos = colon + 1
            else:
                pieces.append(text[pos:start.end()] + ZWSP)
                pos = start.end()
            continue
        if start.group(0) == "[":
            quote = stored.index('"', start.start())  # the '"' after "quote="
            zwsp_at = start.start() + 1
        else:
            quote = stored.index('"', start.end())  # the '"' before "]"
            zwsp_at = start.end()  # right after "username:": no name can be read there
        if quote < pos:  # its '"' already written %22 for an earlier start ("username:[quote=")
            continue
        if _inside(addresses, quote):
            pieces.append(text[pos:quote] + "%22")
            pos = quote + 1
        else:
            pieces.append(text[pos:zwsp_at] + ZWSP)
            pos = zwsp_at
    pieces.append(text[pos:])
    return "".join(pieces)


_DIGITS = re.compile(r"\d+")


def _own_reference(stored: str, start: re.Match, own) -> bool:
    """Whether the file reference at START is one forumsync wrote: a link's whole address
    ``](forumsync-file:N)`` with ``forumsync-file:N`` among OWN (the files of this post). The
    sender's text never holds one whole: it was broken where the mail entered."""
    reference = _reference(stored, start)
    return reference in own and stored.startswith("](", start.start() - 2) \
        and stored.startswith(")", start.start() + len(reference))


def _reference(stored: str, start: re.Match) -> str:
    """The whole reference at START: ``forumsync-file:`` and its digits."""
    return stored[start.start():_DIGITS.match(stored, start.end()).end()]


def _address_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every link address of TEXT (``_ADDRESSES``, line by line), in order."""
    spans, offset = [], 0
    for line in text.split("\n"):
        spans += [(offset + m.start(), offset + m.end()) for m in _ADDRESSES.finditer(line)]
        offset += len(line) + 1
    return spans


def _inside(spans: list[tuple[int, int]], index: int) -> bool:
    """Whether INDEX lies strictly inside one of SPANS (sorted, not overlapping)."""
    at = bisect.bisect_left(spans, (index,)) - 1
    return at >= 0 and spans[at][0] < index < spans[at][1]
