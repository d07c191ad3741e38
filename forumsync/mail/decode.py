"""Text of a MIME part: transfer decoding, charset fallbacks, format=flowed (RFC 3676)."""
from __future__ import annotations

import re

from .charsets import decode_bytes
from .mime import content_type, param

_QUOTE_PREFIX = re.compile(r"^>+")


def part_bytes(part) -> bytes:
    """Decoded payload bytes of a leaf part (base64/quoted-printable are lenient); b"" if none."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding
        data = None
    if data is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            return payload.encode("utf-8", "surrogateescape")
        return b""
    return data


def part_charset(part) -> str | None:
    return param(part, "charset") or None


def _param(part, name: str) -> str:
    return param(part, name).strip().lower()


def unflow(text: str, delsp: bool = False) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676 §4), quote depth kept."""
    out: list[str] = []
    current: str | None = None
    depth_of_current = 0
    for line in text.split("\n"):
        match = _QUOTE_PREFIX.match(line)
        depth = len(match.group(0)) if match else 0
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if current is not None and depth != depth_of_current:
            out.append(_with_quote(depth_of_current, current))
            current = None
        if current is None:
            current, depth_of_current = "", depth
        if flowed:
            current += content[:-1] if delsp else content
        else:
            current += content
            out.append(_with_quote(depth, current))
            current = None
    if current is not None:
        out.append(_with_quote(depth_of_current, current))
    return "\n".join(out)


def _with_quote(depth: int, content: str) -> str:
    if not depth:
        return content
    return ">" * depth + (" " + content if content else "")


def part_text(part) -> str:
    """Unicode text of a text/* part, with \\n line ends and format=flowed undone."""
    text = decode_bytes(part_bytes(part), part_charset(part))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    if content_type(part) == "text/plain" and _param(part, "format") == "flowed":
        text = unflow(text, _param(part, "delsp") == "yes")
    return text
