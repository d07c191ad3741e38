"""Signed reply addresses: ``local+{token}@domain`` bound to a topic/post and to one recipient.

Token = base32 (case-insensitive: MTAs may lowercase local parts) of a compact binary record:

    topic_id u32 | post_id u32 | issued_at u32 (unix seconds) | rbind 4 bytes | mac 8 bytes

``rbind`` is an HMAC of the record and the recipient's address (so the reply must come from
the person the mail was sent to); ``mac`` is an HMAC of everything before it (so nothing can
be forged or altered). Keys are derived from SECRET_KEY by itsdangerous with distinct salts.
The token is 39 characters: ``bistro+<39>`` stays far below the 64-character local-part limit.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass

from itsdangerous import Signer

SALT = "forumsync.reply-address"
_RECORD = struct.Struct(">III")
MAC_BYTES = 8
RBIND_BYTES = 4
TOKEN_BYTES = _RECORD.size + RBIND_BYTES + MAC_BYTES


class BadReplyToken(Exception):
    """A reply address that cannot be honoured; ``reason`` is French and shown to the sender."""

    def __init__(self, reason: str, code: str = "invalid"):
        super().__init__(reason)
        self.reason = reason
        self.code = code  # forged | expired | mismatch | invalid


@dataclass(frozen=True)
class ReplyTarget:
    topic_id: int
    post_id: int | None
    recipient: str
    issued_at: int


def _key(settings, purpose: str) -> bytes:
    signer = Signer(settings.SECRET_KEY, salt=f"{SALT}.{purpose}", digest_method=hashlib.sha256)
    return signer.derive_key()


def _hmac(key: bytes, data: bytes, size: int) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()[:size]


def reply_base(settings) -> tuple[str, str]:
    """(local part, domain) the signed addresses are built on: REPLY_ADDRESS, else BRIDGE_ADDRESS."""
    address = (settings.REPLY_ADDRESS or settings.BRIDGE_ADDRESS).lower()
    local, _, domain = address.rpartition("@")
    return local.split("+", 1)[0], domain


def make_token(settings, recipient: str, topic_id: int, post_id: int | None = None,
               now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    record = _RECORD.pack(int(topic_id), int(post_id or 0), issued)
    rbind = _hmac(_key(settings, "recipient"), record + recipient.strip().lower().encode("utf-8"),
                  RBIND_BYTES)
    mac = _hmac(_key(settings, "mac"), record + rbind, MAC_BYTES)
    return base64.b32encode(record + rbind + mac).decode("ascii").rstrip("=").lower()


def make_reply_address(settings, recipient: str, topic_id: int, post_id: int | None = None,
                       now: float | None = None) -> str:
    local, domain = reply_base(settings)
    return f"{local}+{make_token(settings, recipient, topic_id, post_id, now)}@{domain}"


def is_reply_address(settings, address: str) -> bool:
    """Whether ``address`` looks like one of our signed addresses (not whether it is valid)."""
    local, domain = reply_base(settings)
    addr = (address or "").strip().strip("<>").lower()
    addr_local, _, addr_domain = addr.rpartition("@")
    return addr_domain == domain and addr_local.startswith(local + "+")


def parse_reply_address(settings, address: str, sender: str, now: float | None = None) -> ReplyTarget:
    """Validate a signed address for a reply from ``sender``; raises BadReplyToken (French)."""
    if not is_reply_address(settings, address):
        raise BadReplyToken("cette adresse n'est pas une adresse de réponse de forumsync")
    token = address.strip().strip("<>").rpartition("@")[0].split("+", 1)[1].upper()
    padded = token + "=" * (-len(token) % 8)
    try:
        data = base64.b32decode(padded)
    except (binascii.Error, ValueError):
        data = b""
    if len(data) != TOKEN_BYTES:
        raise BadReplyToken("l'adresse de réponse est abîmée ou falsifiée", "forged")
    record, rbind, mac = data[:_RECORD.size], data[_RECORD.size:-MAC_BYTES], data[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _hmac(_key(settings, "mac"), record + rbind, MAC_BYTES)):
        raise BadReplyToken("l'adresse de réponse est abîmée ou falsifiée", "forged")
    topic_id, post_id, issued = _RECORD.unpack(record)
    current = now if now is not None else time.time()
    max_age = settings.REPLY_TOKEN_MAX_AGE_DAYS * 86400
    if current - issued > max_age:
        raise BadReplyToken(
            f"l'adresse de réponse a expiré (elle n'est valable que "
            f"{settings.REPLY_TOKEN_MAX_AGE_DAYS} jours) : répondez directement sur le forum",
            "expired")
    expected = _hmac(_key(settings, "recipient"), record + (sender or "").strip().lower().encode("utf-8"),
                     RBIND_BYTES)
    if not hmac.compare_digest(rbind, expected):
        raise BadReplyToken("cette adresse de réponse a été envoyée à une autre personne : "
                            "répondez depuis l'adresse qui a reçu le message", "mismatch")
    return ReplyTarget(topic_id=topic_id, post_id=post_id or None,
                       recipient=(sender or "").strip().lower(), issued_at=issued)
