"""Header access that never raises: decoded, unfolded text from the raw stored value.

The policy's header objects raise on some broken headers (bugs in the header value parser,
unknown encoded-word charsets become U+FFFD); reading the raw value and decoding RFC 2047
ourselves with our charset fallbacks is both safer and more faithful.
"""
from __future__ import annotations

import base64
import binascii
import quopri
import re

from .charsets import decode_bytes, unescape_surrogates

_ENCODED_WORD = re.compile(r"=\?([^?\s]+?)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*?)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_FOLD = re.compile(r"\r?\n[ \t]*")


def _decode_word(charset: str, encoding: str, payload: str) -> str:
    try:
        if encoding.upper() == "B":
            payload = re.sub(r"[^A-Za-z0-9+/]", "", payload)
            payload += "=" * (-len(payload) % 4)
            data = base64.b64decode(payload)
        else:
            data = quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"),
                                       header=False)
    except (binascii.Error, ValueError):
        return payload
    return decode_bytes(data, charset)


def decode_header_value(value) -> str:
    """RFC 2047-decoded, unfolded, stripped text of a raw header value (str or bytes)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = decode_bytes(value)
    value = unescape_surrogates(str(value))
    value = _FOLD.sub(" ", value)
    if "=?" in value:
        # Whitespace between adjacent encoded words is not displayed (RFC 2047 §6.2).
        value = _BETWEEN_WORDS.sub(r"\1\2", value)
        value = _ENCODED_WORD.sub(lambda m: _decode_word(*m.groups()), value)
    return " ".join(value.replace("\x00", "").split())


_INDEX_ATTR = "_forumsync_header_index"


def _header_index(msg, items) -> dict[str, list[str]] | None:
    """{lower-cased name: raw values} of ITEMS, kept on MSG for as long as its header list
    is unchanged (a stage reads some 40 headers per message: one walk instead of 40). None
    when a value is not a plain str (a mutable ``Header`` object could change unseen)."""
    cached = getattr(msg, _INDEX_ATTR, None)
    if cached is not None and cached[0] == items:  # equal tuples of str: still valid
        return cached[1]
    index: dict[str, list[str]] = {}
    for k, v in items:
        if type(v) is not str or type(k) is not str:
            return None
        key = k.lower()
        if len(key) == len(k):  # as the uncached test below (len(k) == len(name.lower()))
            index.setdefault(key, []).append(unescape_surrogates(v))
    try:
        setattr(msg, _INDEX_ATTR, (list(items), index))
    except (AttributeError, TypeError):
        pass
    return index


def raw_header_all(msg, name: str) -> list[str]:
    """Raw stored values of every header NAME (case-insensitive), undecoded."""
    wanted = name.lower()
    items = getattr(msg, "_headers", None)  # what raw_items() walks, without its generator
    if items is None:
        try:
            items = list(msg.raw_items())
        except Exception:  # not a message: treat as headerless
            return []
    elif isinstance(items, list):
        index = _header_index(msg, items)
        if index is not None:
            return list(index.get(wanted, ()))
    size = len(wanted)
    return [unescape_surrogates(str(v)) for k, v in items if len(k) == size and k.lower() == wanted]


def header_all(msg, name: str) -> list[str]:
    """Every value of header NAME, decoded."""
    return [decode_header_value(v) for v in raw_header_all(msg, name)]


def header_str(msg, name: str, default: str = "") -> str:
    """First value of header NAME, decoded and unfolded; DEFAULT when absent."""
    values = raw_header_all(msg, name)
    return decode_header_value(values[0]) if values else default
