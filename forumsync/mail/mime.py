"""Cheap, never-raising reads of Content-Type and its parameters.

The policy's structured header objects are costly to build (half the parse time of a whole
corpus went there) and some raise on garbage; a part's type is read from the raw header here.
"""
from __future__ import annotations

import re

from urllib.parse import unquote_to_bytes

from .charsets import decode_bytes
from .headers import raw_header_all

_PARAM = re.compile(r""";\s*([\w\-.*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)""")


def _raw_content_type(part) -> str:
    values = raw_header_all(part, "Content-Type")
    return " ".join(values[0].split()) if values else ""


def content_type(part) -> str:
    """Lower-cased maintype/subtype; RFC 2045 defaults when absent or invalid."""
    raw = _raw_content_type(part)
    ctype = raw.split(";", 1)[0].strip().lower()
    if ctype.count("/") == 1 and all(ctype.split("/")):
        return ctype
    try:
        return part.get_default_type()
    except Exception:
        return "text/plain"


# RFC 2046 allows no transfer encoding but 7bit, 8bit and binary on a message/* part; Exchange
# and 8BITMIME downgrades send a forwarded message base64 or quoted-printable all the same.
ENCODED_MESSAGE_CTES = frozenset(("base64", "quoted-printable"))


def content_transfer_encoding(part) -> str:
    """The part's Content-Transfer-Encoding, lower-cased, read raw; "" when absent."""
    values = raw_header_all(part, "Content-Transfer-Encoding")
    return values[0].strip().lower() if values else ""


def param(part, name: str, header: str = "Content-Type") -> str:
    """A Content-Type (or HEADER) parameter, RFC 2231 continuations collapsed; "" if absent."""
    values = raw_header_all(part, header)
    if not values:
        return ""
    raw = " ".join(values[0].split())
    name = name.lower()
    pieces = {}
    for key, value in _PARAM.findall(raw):
        key = key.lower()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if key == name:
            return value
        if key.startswith(name + "*"):
            pieces[key] = value
    if not pieces:
        return ""
    ordered = [pieces[k] for k in sorted(pieces, key=lambda k: int(re.sub(r"\D", "", k) or 0))]
    joined = "".join(ordered)
    if any(k.endswith("*") for k in pieces) and joined.count("'") >= 2:
        charset, _, text = joined.split("'", 2)
        return decode_bytes(unquote_to_bytes(text), charset)
    return joined
