"""Stage: drop our own echoes (mail forumsync sent to the list coming back to it)."""
from __future__ import annotations

from forumsync.mail import header_all, header_str, parse_address
from forumsync.mail.ids import parse_discourse_message_id

from .errors import Drop
from .msgdata import MsgData

REASON = "écho d'un message envoyé par forumsync"


def check(settings, msg) -> tuple[bool, str]:
    """(True, why) when MSG is one forumsync itself sent (headers set by outbound compose)."""
    bridge = settings.BRIDGE_ADDRESS.lower()
    if header_str(msg, "X-Forumsync"):
        return True, f"{REASON} (en-tête X-Forumsync)"
    if any(bridge in value.lower() for value in header_all(msg, "X-Loop")):
        return True, f"{REASON} (X-Loop)"
    if parse_discourse_message_id(header_str(msg, "Message-ID"), settings.forum_host) is not None:
        return True, f"{REASON} (Message-ID du forum)"
    if parse_address(header_str(msg, "From"))[1] == bridge:
        return True, f"{REASON} (expéditeur {bridge})"
    return False, ""


def process(ctx, msg, msgdata: MsgData):
    looped, reason = check(ctx.settings, msg)
    if looped:
        raise Drop(reason)
