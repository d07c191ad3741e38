"""Turning bytes of an unknown or mislabelled charset into text, the way mail clients do."""
from __future__ import annotations

import codecs
import encodings
import encodings.aliases
import pkgutil
import re

# Labels seen in real mail that Python does not know, or that lie.
_ALIASES = {
    "utf8": "utf-8", "utf-8": "utf-8", "unicode-1-1-utf-8": "utf-8",
    # What browsers do (WHATWG): latin-1 and ascii labels are decoded as windows-1252.
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "ansi_x3.4-1968": "cp1252",
    "windows-1252": "cp1252", "cp-1252": "cp1252", "x-cp1252": "cp1252",
    "gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949",
}
_MEANINGLESS = {"", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default",
                "charset", "none", "binary", "8bit"}
FALLBACKS = ("utf-8", "cp1252", "latin-1")
# Python codecs no mail charset names: they decode escapes or host names, raise a bare
# UnicodeError, or return lone surrogates (red team, tenth pass). "base64", "rot13"… are
# not text encodings at all (``_is_text_encoding``).
_NOT_MAIL_CHARSETS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}
# What a decoder may still return that no database stores (utf-7 decodes "+2AA-" to U+D800).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE = re.compile("[\udc80-\udcff]")


def _lookup_key(name: str) -> str:
    """NAME as the ``encodings`` search function looks it up (normalised, lower-case)."""
    return encodings.normalize_encoding(name).replace(".", "_").lower()


# The names ``codecs.lookup`` can find: the aliases and modules of the ``encodings`` package.
# Any other label is unknown without asking: the standard search function remembers every
# name it failed to import, for the life of the process, and a Subject of 20,000 encoded
# words each with its own charset name kept ~7 MB per message in the LMTP server (red team,
# twelfth pass).
_KNOWN_NAMES = frozenset({_lookup_key(n) for n in encodings.aliases.aliases}
                         | {_lookup_key(n) for n in encodings.aliases.aliases.values()}
                         | {m.name for m in pkgutil.iter_modules(encodings.__path__)})


def codec_for(label: str | None) -> str | None:
    """The Python codec for a declared charset label, or None when it is unusable."""
    if not label:
        return None
    name = str(label).strip().strip('"\'').lower()
    if name in _MEANINGLESS:
        return None
    name = _ALIASES.get(name, name)
    if len(name) > 64 or _lookup_key(name) not in _KNOWN_NAMES:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the label (hostile mail)
        return None
    if info.name in _NOT_MAIL_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Declared charset first (when it decodes cleanly), then utf-8, cp1252, latin-1."""
    tried = []
    codec = codec_for(declared)
    if codec and codec != "cp1252":
        tried.append(codec)
    # ascii/latin-1 labels often hide utf-8: try utf-8 before the cp1252 reading.
    for name in FALLBACKS:
        if name not in tried:
            tried.append(name)
    for name in tried:
        try:
            text = data.decode(name)
        except (UnicodeError, LookupError):
            continue
        return _LONE_SURROGATE.sub("\ufffd", text) if not text.isascii() else text
    return data.decode("latin-1")  # unreachable: latin-1 decodes anything


def unescape_surrogates(text: str) -> str:
    """Raw 8-bit header bytes come back from the parser as surrogate escapes: decode them."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"))
