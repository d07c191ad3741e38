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

# The charset never holds "*" (RFC 2231's language follows it): no two parts of the pattern can
# take the same characters, and no backtracking between them (« =?**…?Q? » cost 48 s at 64 KB:
# red team, twenty-sixth pass).
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_FOLD = re.compile(r"\r?\n[ \t]*")


_ENCODED_RUN = re.compile(f"(?:{_ENCODED_WORD.pattern})+")


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    """The bytes an encoded word's PAYLOAD stands for; None when it is not valid."""
    try:
        if encoding.upper() == "B":
            payload = re.sub(r"[^A-Za-z0-9+/]", "", payload)
            payload += "=" * (-len(payload) % 4)
            return base64.b64decode(payload)
        return quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"), header=False)
    except (binascii.Error, ValueError):
        return None


def _decode_run(run: str) -> str:
    """A run of adjacent encoded words, decoded: the bytes of neighbouring words in one charset
    are joined before decoding, as mail clients do (and ``email.header.decode_header``). Some
    mailers cut encoded words at a byte count, splitting a character: « RÃ©union » otherwise
    (red team, twenty-third pass)."""
    out, charset, chunks = [], None, []

    def flush():
        if chunks:
            out.append(decode_bytes(b"".join(chunks), charset))
            chunks.clear()

    for match in _ENCODED_WORD.finditer(run):
        word_charset, encoding, payload = match.groups()
        data = _word_bytes(encoding, payload)
        if data is None:  # not decodable: shown as written
            flush()
            out.append(payload)
            continue
        if charset is not None and word_charset.lower() != charset.lower():
            flush()
        charset = word_charset
        chunks.append(data)
    flush()
    return "".join(out)


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
        value = _ENCODED_RUN.sub(lambda m: _decode_run(m.group(0)), value)
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
