"""Stage: drop bounces (DSN), read receipts (MDN) and other delivery reports.

Cheap, certain signals first (multipart/report, empty Return-Path, subjects); flufl.bounce
only looks at mail from a mailer daemon or postmaster, where its heuristics are meant to run
(on ordinary mail they would cost time and risk false positives).
"""
from __future__ import annotations

import re

from flufl.bounce import scan_message

from forumsync.mail import header_str, parse_address
from forumsync.mail.mime import content_type, param

from .errors import Drop
from .msgdata import MsgData

_SUBJECTS = re.compile(
    r"^\s*(?:"
    r"accus[ée]\s+de\s+lecture|lu\s*:|read\s*:|read\s+receipt|gelesen\s*:|"
    r"confirmation\s+de\s+lecture|return\s+receipt|"
    r"non\s+remis|undeliverable|undelivered\s+mail|delivery\s+status\s+notification|"
    r"delivery\s+(?:has\s+)?failed|delivery\s+failure|mail\s+delivery\s+(?:failed|failure|system)|"
    r"returned\s+mail|failure\s+notice|[ée]chec\s+de\s+(?:la\s+)?(?:remise|distribution)|"
    r"message\s+non\s+d[ée]livr[ée]|notification\s+d['’][ée]tat\s+de\s+(?:la\s+)?distribution|"
    r"unzustellbar|nicht\s+zustellbar|remis\s*:|delivered\s*:|relay[ée]\s*:"
    r")", re.IGNORECASE)
_DAEMONS = re.compile(r"^(?:mailer-daemon|mailer_daemon|mailerdaemon|postmaster|mail-daemon|"
                      r"mdaemon|bounce|bounces|mail\.delivery\.system)(?:[+\-].*)?@", re.I)
_REPORTS = {"delivery-status": "avis de non-remise", "disposition-notification": "accusé de lecture"}


def check(msg) -> tuple[bool, str]:
    """(True, French reason) for a delivery status or read receipt."""
    ctype = content_type(msg)
    if ctype == "multipart/report":
        kind = param(msg, "report-type").lower()
        return True, _REPORTS.get(kind, "rapport de distribution") + " (multipart/report)"
    if ctype in ("message/delivery-status", "message/disposition-notification"):
        return True, _REPORTS[ctype.split("/")[1]]
    subject = header_str(msg, "Subject")
    if _SUBJECTS.match(subject):
        return True, f"avis de distribution ou de lecture (sujet « {subject[:80]} »)"
    return_path = header_str(msg, "Return-Path")
    sender = parse_address(header_str(msg, "From"))[1]
    if return_path.replace(" ", "") == "<>" and (not sender or _DAEMONS.match(sender)):
        return True, "avis de non-remise (Return-Path vide)"
    if sender and _DAEMONS.match(sender):
        try:
            failed = scan_message(msg)
        except Exception:  # its detectors do not all survive broken mail
            failed = set()
        if failed:
            return True, f"avis de non-remise ({len(failed)} adresse(s) en échec)"
        return True, f"message automatique de {sender}"
    return False, ""


def process(ctx, msg, msgdata: MsgData):
    bounced, reason = check(msg)
    if bounced:
        raise Drop(reason)
