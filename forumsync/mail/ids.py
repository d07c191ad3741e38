"""Message identifiers: normalising Message-IDs, stable hashes, Discourse's own ids, and the
markers forumsync leaves on the forum (hidden post marker, ``ml-`` topic external ids): the
one place that builds and parses them."""
from __future__ import annotations

import hashlib
import re

_BRACKETED = re.compile(r"<([^<>]*)>")
_DISCOURSE_POST = re.compile(r"^discourse/post/(\d+)@(.+)$")
_DISCOURSE_TOPIC = re.compile(r"^topic/(\d+)/(\d+)(?:\.[\w-]+)?@(.+)$")
# Headers that survive every hop unchanged: what identifies a mail with no Message-ID.
_STABLE_HEADERS = ("from", "to", "cc", "date", "subject", "in-reply-to", "references")


def normalize_message_id(value) -> str:
    """``<abc@x>`` / `` abc@x (comment)`` → ``abc@x``; "" when nothing usable."""
    if not value:
        return ""
    value = str(value)
    match = _BRACKETED.search(value)
    if match:
        value = match.group(1)
        return "".join(value.split())
    # No well-formed <…>: the first token, without stray brackets (never an id with < or >).
    tokens = value.split("(")[0].replace("<", " ").replace(">", " ").split()
    return tokens[0] if tokens else ""


def message_id_list(header) -> list[str]:
    """Every id of a References/In-Reply-To value, in order, deduplicated."""
    if not header:
        return []
    header = str(header)
    found = _BRACKETED.findall(header)
    if not found:  # some clients forget the angle brackets
        found = [tok for tok in header.split() if "@" in tok]
    # (a dict keeps the order: a list searched at each id was quadratic, 3.3 s for 20,000)
    return list(dict.fromkeys(item for item in ("".join(raw.split()) for raw in found) if item))


def _normalised_form(raw: bytes) -> bytes:
    """Only what no MTA or channel changes: a few headers, and the body without line-end noise."""
    raw = raw.replace(b"\r\n", b"\n")
    if raw.startswith(b"From "):  # mbox separator line
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    head, _, body = raw.partition(b"\n\n")
    headers = {}
    name = None
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and name:
            headers[name] += b" " + line.strip()
            continue
        key, sep, value = line.partition(b":")
        if not sep:
            name = None
            continue
        name = key.strip().lower().decode("ascii", "replace")
        if name in _STABLE_HEADERS and name not in headers:
            headers[name] = value.strip()
        elif name not in _STABLE_HEADERS:
            name = None
    lines = [line.rstrip() for line in body.split(b"\n")]
    parts = [b"%s:%s" % (k.encode(), b" ".join(headers[k].split())) for k in sorted(headers)]
    parts.append(b"\n".join(lines).strip(b"\n"))
    return b"\n".join(parts)


def content_digest(raw: bytes) -> str:
    """sha256 hex of what makes two copies of one Message-ID the same mail: the normalised form
    (what no MTA or channel changes) and the ``Authentication-Results`` headers the receiving
    MTA wrote (a forged copy of a text, sent first, must not stand for the authenticated one)."""
    raw = raw.replace(b"\r\n", b"\n")
    head = raw.partition(b"\n\n")[0]
    results = re.findall(rb"(?im)^authentication-results:(.*(?:\n[ \t].*)*)", head)
    digest = hashlib.sha256(_normalised_form(raw))
    for value in results:
        digest.update(b"\nauthentication-results:" + b" ".join(value.split()))
    return digest.hexdigest()


def stable_hash_id(raw: bytes) -> str:
    """``sha256:<hex>`` for a mail without Message-ID; equal for the same mail via two channels."""
    return "sha256:" + hashlib.sha256(_normalised_form(raw)).hexdigest()


# Topics the pipeline creates have external_id "ml-<sha1 of the root Message-ID>".
LIST_EXTERNAL_ID_PREFIX = "ml-"
# Hidden marker ending the posts the bridge writes without the plugin (see post_marker).
MARKER = "<!-- forumsync"


def topic_external_id(root_id: str) -> str:
    """Discourse topic external_id (≤ 50 chars, ``[\\w-]+``) derived from the root Message-ID."""
    digest = hashlib.sha1(normalize_message_id(root_id).encode("utf-8")).hexdigest()[:40]
    return LIST_EXTERNAL_ID_PREFIX + digest


def post_marker(message_id: str) -> str:
    """``<!-- forumsync <24 hex of sha1(message_id)> -->``: invisible once cooked; lets a retry
    find the reply it already wrote, and outbound code recognise forumsync's posts."""
    return f"{MARKER} {hashlib.sha1(message_id.encode('utf-8')).hexdigest()[:24]} -->"


def bracketed(message_id: str) -> str:
    """A normalised Message-ID as headers and the plugin write it: ``<id>``."""
    return f"<{message_id}>"


def discourse_post_message_id(post_id: int, host: str) -> str:
    """The Message-ID Discourse gives a post's mail (no ``<>``): ``discourse/post/{id}@host``;
    ``parse_discourse_message_id`` reads it back."""
    return f"discourse/post/{int(post_id)}@{host}"


MAX_POST_ID = 2**31 - 1


def parse_discourse_message_id(message_id, host: str | None = None) -> int | None:
    """The post id in a Discourse Message-ID (``discourse/post/{id}@host``,
    ``topic/{tid}/{pid}[.random]@host``); None otherwise or when HOST is given and differs."""
    mid = normalize_message_id(message_id)
    for pattern, group in ((_DISCOURSE_POST, 1), (_DISCOURSE_TOPIC, 2)):
        match = pattern.match(mid)
        if match:
            if host and match.group(match.lastindex).lower() != host.lower():
                return None
            post_id = int(match.group(group))
            # Discourse ids are 32-bit; a hostile reference must not reach the forum (issue 8).
            return post_id if 0 < post_id <= MAX_POST_ID else None
    return None
