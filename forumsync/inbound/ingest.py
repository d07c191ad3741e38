"""The one entry point of every channel: store the raw message before anyone is acknowledged.

LMTP, HTTP, stdin, mbox and the Mailman archiver all call :func:`ingest`. It refuses what must
never enter the inbox (empty, not mail, too big, absurd headers, not for the list) with a
:class:`Refused` carrying a French message, deduplicates by normalised Message-ID (also under
concurrency, by the unique constraint), and commits the row before returning, so the caller can
answer "stored" truthfully. It then wakes any in-process worker so latency stays low.
"""
from __future__ import annotations

import bisect
import email.policy
import email.utils
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from ..mail import ids
from ..mail.headers import header_str
from ..models import InboxMessage, InboxRaw, utcnow
from ..queues import wake
from .copies import place

log = logging.getLogger(__name__)

# Hostile-input limits applied before storage (issue 8); real mail stays far below them.
MAX_HEADER_COUNT = 1000
MAX_HEADER_BLOCK_BYTES = 1024 * 1024
# MIME nesting: Python's email parser recurses once per level and fails near 1,000 levels;
# real mail (even long forwarded chains) stays far below this many multipart/message parts.
MAX_MIME_NESTING = 100
# Searched in the lower-cased bytes, each with its literal start (ten times faster than one
# case-insensitive alternation over a message with attachments); the boundary's value is read
# in the original bytes (same offsets: bytes.lower() changes ASCII letters only).
_BOUNDARY = re.compile(rb'boundary\s*=\s*"?([^";\r\n]*)')
# Any message/* type: the stdlib parser parses every one as an embedded message (red team,
# twelfth pass: 3,000 nested message/x-foo got past this check to the parser's RecursionError).
_EMBEDDED = re.compile(rb'message/[a-z0-9!#$&^_.+-]+')
# Headers of which at least one must be present for the bytes to count as an email.
MAIL_HEADERS = ("from", "message-id", "date", "subject", "to", "received", "sender")

CHANNELS = ("lmtp", "http", "stdin", "mbox", "mailman")


class Refused(Exception):
    """A message refused outright. ``code`` is one of REFUSAL_CODES; ``message_fr`` is for people."""

    def __init__(self, code: str, message_fr: str):
        super().__init__(message_fr)
        self.code = code
        self.message_fr = message_fr


# Symbolic refusal codes; each channel maps them to its own answer (SMTP, HTTP, sysexits).
REFUSAL_CODES = ("empty", "not_mail", "too_big", "headers", "not_for_list")


@dataclass(frozen=True)
class IngestResult:
    inbox_id: int
    message_id: str
    duplicate: bool


# ---------------------------------------------------------------- recipients
def accepted_recipient(settings, address: str) -> bool:
    """True for the list, the bridge (and its ``local+token@domain`` reply addresses), the
    optional REPLY_ADDRESS and theme addresses: the only mail forumsync has any business with."""
    address = (address or "").strip().strip("<>").lower()
    if "@" not in address:
        return False
    exact = {settings.LIST_ADDRESS.lower(), settings.BRIDGE_ADDRESS.lower()}
    for theme in settings.THEMES:
        exact.update(a.lower() for a in theme.get("addresses", ()))
    plus_bases = [settings.BRIDGE_ADDRESS.lower()]
    if settings.REPLY_ADDRESS and "@" in settings.REPLY_ADDRESS:
        exact.add(settings.REPLY_ADDRESS.lower())
        plus_bases.append(settings.REPLY_ADDRESS.lower())
    if address in exact:
        return True
    local, _, domain = address.rpartition("@")
    for base in plus_bases:
        base_local, _, base_domain = base.rpartition("@")
        if domain == base_domain and local.startswith(base_local + "+") and len(local) > len(base_local) + 1:
            return True
    return False


# ---------------------------------------------------------------- checks
def _fr_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} Mo".replace(".", ",")
    if n >= 1024:
        return f"{n / 1024:.0f} Ko"
    return f"{n} octets"


def too_big_message(settings) -> str:
    return (f"Message trop volumineux : la limite est de {_fr_size(settings.MAX_MESSAGE_BYTES)} "
            f"(MAX_MESSAGE_BYTES).")


def check_size(settings, size: int) -> None:
    if size > settings.MAX_MESSAGE_BYTES:
        raise Refused("too_big", too_big_message(settings))


def _header_block(raw: bytes) -> bytes:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[:min(ends)] if ends else raw


def parse_headers(raw: bytes):
    """Validate that RAW is an email and return its parsed headers (body not parsed)."""
    if not raw or not raw.strip():
        raise Refused("empty", "Message vide : aucun octet reçu.")
    block = _header_block(raw)
    if len(block) > MAX_HEADER_BLOCK_BYTES:
        raise Refused("headers", f"En-têtes trop volumineux (plus de {_fr_size(MAX_HEADER_BLOCK_BYTES)}).")
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(block + b"\n\n")
    names = [name.lower() for name in headers.keys()]
    if len(names) > MAX_HEADER_COUNT:
        raise Refused("headers", f"Trop d'en-têtes ({len(names)} ; au plus {MAX_HEADER_COUNT}).")
    if not names or not any(name in MAIL_HEADERS for name in names):
        raise Refused("not_mail", "Ce n'est pas un courriel : aucun en-tête RFC 822 (From, Date, "
                                  "Message-ID, Subject…) n'a été trouvé.")
    return headers


def check_mime_nesting(raw: bytes) -> None:
    """Refuse a message whose MIME structure could nest deeper than MAX_MIME_NESTING levels
    (distinct multipart boundaries plus embedded messages: an upper bound of the depth)."""
    lowered = raw.lower()
    found, starts, ends = set(), [], []
    for match in _BOUNDARY.finditer(lowered):
        found.add(raw[match.start(1):match.end(1)])
        starts.append(match.start())
        ends.append(match.end())
    for match in _EMBEDDED.finditer(lowered):
        inside = bisect.bisect_right(starts, match.start()) - 1
        if inside < 0 or match.start() >= ends[inside]:  # not within a boundary's value
            found.add(match.start())
    if len(found) > MAX_MIME_NESTING:
        raise Refused("headers", f"Structure MIME trop imbriquée (plus de {MAX_MIME_NESTING} "
                                 f"parties multipart ou messages joints).")


def _decoded(headers, name: str) -> str:
    """Header NAME decoded as the pipeline reads it (``header_str``: 8-bit UTF-8 as sent, RFC
    6532; compat32's own ``str`` made it U+FFFD: operator walkthrough, 28th pass)."""
    return " ".join(header_str(headers, name).split())


def message_id_of(headers, raw: bytes) -> str:
    """The normalised Message-ID (no <>), or "sha256:<hex>" when the message has none."""
    value = headers.get("Message-ID")
    return ids.normalize_message_id(str(value))[:990] if value is not None and ids.normalize_message_id(str(value)) \
        else ids.stable_hash_id(raw)


def _summary(headers, raw: bytes, meta: dict) -> tuple[str, str, str]:
    """(Message-ID, sender, subject) read from HEADERS for the inbox row. They only help find
    and show the message: if reading them fails on something no one foresaw, the message is
    stored under its content hash, and the pipeline says what it makes of it (never "try
    again later" for ever: red team, tenth pass)."""
    try:
        return (message_id_of(headers, raw), email.utils.parseaddr(_decoded(headers, "From"))[1][:990],
                _decoded(headers, "Subject")[:2000])
    except Exception as exc:  # noqa: BLE001 - stored all the same, with the reason kept
        log.warning("en-têtes illisibles, message stocké sous son empreinte : %r", exc)
        meta["unreadable_headers"] = repr(exc)[:500]
        return ids.stable_hash_id(raw), "", ""


# ---------------------------------------------------------------- ingest
def ingest(ctx, raw: bytes, channel: str, meta: dict | None = None) -> IngestResult:
    """Store RAW in the inbox (state ``new``) in a committed transaction, or report a duplicate
    (the same Message-ID and the same content: ``copies.place``).

    ``meta`` holds channel facts (``recipients`` for LMTP: checked against the accepted
    addresses; ``envelope_date`` for mbox…). Raises :class:`Refused` before storing anything.
    """
    settings = ctx.settings
    raw = bytes(raw)
    check_size(settings, len(raw))
    headers = parse_headers(raw)
    meta = dict(meta or {})
    recipients = meta.get("recipients")
    if recipients is not None and not any(accepted_recipient(settings, r) for r in recipients):
        raise Refused("not_for_list", f"Destinataire inconnu : forumsync n'accepte que le courrier "
                                      f"de la liste {settings.LIST_ADDRESS}.")
    check_mime_nesting(raw)
    message_id, sender, subject = _summary(headers, raw, meta)

    for attempt in (1, 2):
        try:
            with ctx.db.session() as session:  # one transaction: look up, then insert
                known, key, state, reason = place(session, message_id, raw, meta, sender)
                if known is not None:
                    return IngestResult(known, message_id, True)
                row = InboxMessage(message_id=key, channel=channel, size=len(raw),
                                   subject=subject, sender=sender, meta=meta, state=state,
                                   reason=reason, received_at=_received_at(meta))
                if state != "new":
                    row.processed_at = utcnow()
                session.add(row)
                session.flush()
                inbox_id = row.id
                # The bytes, in the same transaction (a plain insert: cheaper than the ORM cascade).
                session.execute(_INSERT_RAW, {"inbox_id": inbox_id, "raw": raw})
            break
        except IntegrityError:
            # Another channel stored the same Message-ID (or the same copy) between our lookup
            # and our insert: looked up again, it is a duplicate or this is another copy.
            meta.pop("copy_of", None)
            meta.pop("message_id", None)
            if attempt == 2:
                raise
    wake(ctx)
    return IngestResult(inbox_id, message_id, False)


_INSERT_RAW = insert(InboxRaw.__table__)


def _received_at(meta: dict):
    """Now, or for history (mbox) the archive's arrival date: the pipeline's fallback when the
    Date header is missing or absurd, so imported messages keep their original dates."""
    value = meta.get("envelope_date")
    if value:
        try:
            return datetime.fromisoformat(value)
        except (TypeError, ValueError):
            pass
    return utcnow()
