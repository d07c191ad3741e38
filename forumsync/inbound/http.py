"""The HTTP channel: ``POST /inbound/mail`` with the raw RFC 822 message as body.

Used by the Mailman archiver plugin and by MTAs that prefer HTTP. The bearer token is
compared in constant time; the body is read with a bound so an oversized upload is refused
(413) without being held in memory; 202 is answered only once the message is stored.

Only mail for us is taken: the envelope recipients when the caller states them
(``?recipient=…``, repeatable), else the message's own recipient headers (To, Cc,
Delivered-To, X-Original-To…, and List-Post from Mailman) must name the list, the bridge (or
one of its signed ``bistro+…`` reply addresses), REPLY_ADDRESS or a theme address. Anything
else is refused at the door with 422 and a French reason, and nothing is stored.
"""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from ..mail.addresses import all_recipients
from .ingest import Refused, accepted_recipient, ingest, parse_headers, too_big_message

log = logging.getLogger(__name__)

bp = Blueprint("inbound", __name__)

STATUS_BY_REFUSAL = {"too_big": 413, "empty": 400, "not_mail": 400, "headers": 400, "not_for_list": 422}


def _error(status: int, code: str, message: str):
    response = jsonify({"stored": False, "error": code, "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="forumsync"'
    return response


def _authorized(expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or not expected:
        return False
    return hmac.compare_digest(token.strip().encode("utf-8"), expected.encode("utf-8"))


@bp.post("/inbound/mail")
def inbound_mail():
    from ..app import current_context

    ctx = current_context()
    settings = ctx.settings
    if not _authorized(settings.INBOUND_TOKEN):
        return _error(401, "unauthorized", "Jeton d'accès absent ou invalide (en-tête "
                                           "« Authorization: Bearer … »).")
    limit = settings.MAX_MESSAGE_BYTES
    if request.content_length is not None and request.content_length > limit:
        return _error(413, "too_big", too_big_message(settings))
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        return _error(413, "too_big", too_big_message(settings))
    try:
        channel = "mailman" if request.args.get("channel") == "mailman" else "http"
        meta = {"remote_addr": request.remote_addr or ""}
        envelope = request.args.getlist("recipient")
        if envelope:
            meta["recipients"] = envelope  # checked by ingest, like LMTP's RCPT TO
        else:
            check_addressed_to_us(settings, raw)
        result = ingest(ctx, raw, channel, meta)
    except Refused as refused:
        return _error(STATUS_BY_REFUSAL.get(refused.code, 400), refused.code, refused.message_fr)
    except (SQLAlchemyError, OSError):  # storage unavailable: the caller keeps the message and retries
        log.exception("POST /inbound/mail : stockage impossible")
        return _error(503, "unavailable", "Stockage momentanément impossible, réessayez plus tard.")
    except Exception:  # a fault of ours with this very message: the caller keeps it, and goes on
        log.exception("POST /inbound/mail : message non stocké (erreur interne)")
        return _error(500, "internal", "Erreur interne avec ce message : il n'est pas stocké, "
                                       "gardez-le et réessayez plus tard.")
    return jsonify({"stored": True, "duplicate": result.duplicate, "message_id": result.message_id,
                    "inbox_id": result.inbox_id}), 202


def _list_post(headers) -> list[str]:
    """The list address Mailman names in ``List-Post: <mailto:…>``."""
    found = []
    for value in headers.get_all("List-Post") or []:
        for part in str(value).split(","):
            part = part.strip().strip("<>")
            if part.lower().startswith("mailto:"):
                found.append(part[len("mailto:"):].split("?")[0])
    return found


def check_addressed_to_us(settings, raw: bytes) -> None:
    """Refuse (``not_for_list``) a message none of whose recipient headers is ours."""
    headers = parse_headers(raw)
    addresses = all_recipients(headers) + _list_post(headers)
    if any(accepted_recipient(settings, address) for address in addresses):
        return
    raise Refused("not_for_list", f"Message refusé : il n'est adressé ni à la liste "
                                  f"{settings.LIST_ADDRESS} ni à la passerelle {settings.BRIDGE_ADDRESS} "
                                  f"(ou à l'une de ses adresses de réponse) ; rien n'a été enregistré.")
