"""What a forwarded message's quoted header block says about where that message came from.

A forward (« TR : », « Fwd: ») carries the forwarded mail's headers in its body: Outlook's
« De : … Envoyé : … À : … Objet : », Thunderbird's « -------- Message transféré -------- »
then « Sujet : … Pour : … », Gmail's « ---------- Message transféré --------- » then
« De : … Date : … Objet : … À : … ». When those lines name the list address, or a subject
carrying the list tag, the forwarded mail was list mail: forwarding it to the list continues
that thread rather than opening a new one. Works on the Markdown body that parse produced.
"""
from __future__ import annotations

import re

from .ids import message_id_list

_S = r"[ \t\u00a0\u202f]"
_MARK = r"[*_\\]*"
_LABEL = re.compile(
    rf"^{_S}*(?:>{_S}*)*{_MARK}(de|from|[àa]|to|pour|cc|copie{_S}+[àa]|objet|sujet|subject|date|"
    rf"envoy[ée]|sent|message-id|r[ée]pondre{_S}+[àa]|reply-to){_MARK}{_S}*:{_MARK}{_S}*(.*)$",
    re.IGNORECASE)
_RECIPIENT_LABELS = {"à", "a", "to", "pour", "cc", "copie à", "copie a", "répondre à", "repondre a",
                     "reply-to"}
_SUBJECT_LABELS = {"objet", "sujet", "subject"}
BLOCK_GAP = 4  # a header line counts when another one is at most this many lines away


def forwarded_headers(body: str) -> list[tuple[str, str]]:
    """(label lower-cased, value) of the header lines of forwarded blocks, in order. A lone
    « À : » line in someone's prose is not a header: another header line must be near it."""
    found = []
    for index, line in enumerate(body.split("\n")):
        match = _LABEL.match(line)
        if match:
            label = " ".join(match.group(1).lower().replace("\u00a0", " ").split())
            found.append((index, label, match.group(2).strip()))
    return [(label, value) for i, (index, label, value) in enumerate(found)
            if (i > 0 and index - found[i - 1][0] <= BLOCK_GAP)
            or (i + 1 < len(found) and found[i + 1][0] - index <= BLOCK_GAP)]


def list_evidence(body: str, list_addresses, list_tag: str | None) -> str | None:
    """Why the forwarded mail in BODY was list mail (French, for the thread reason), or None."""
    addresses = [a.lower() for a in list_addresses if a]
    tag = (list_tag or "").strip().lower()
    for label, value in forwarded_headers(body):
        folded = value.replace("\\", "").lower()  # Markdown escaped the brackets
        if label in _RECIPIENT_LABELS:
            for address in addresses:
                if address in folded:
                    return f"adressé à la liste ({address})"
        elif label in _SUBJECT_LABELS and tag and tag in folded:
            return f"dont l'objet porte l'étiquette {list_tag}"
    return None


def forwarded_message_ids(body: str) -> list[str]:
    """Message-IDs written in the forwarded header blocks (some clients show them)."""
    ids: list[str] = []
    for label, value in forwarded_headers(body):
        if label == "message-id":
            ids += [i for i in message_id_list(value.replace("&lt;", "<").replace("\\", "")) if i not in ids]
    return ids
