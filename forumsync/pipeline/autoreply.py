"""Stage: drop auto-replies (out of office, vacation…): RFC 3834 headers, then subjects.

Subject patterns are anchored at the start (after reply prefixes are *not* removed), so
« RE: Absence de connecteur » — a person answering about a missing connector — stays.
"""
from __future__ import annotations

import re

from forumsync.mail import header_str

from .errors import Drop

_SUBJECTS = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:"
    r"r[ée]ponse\s+automatique|absence\s+du\s+bureau|absent(?:e)?(?:\s*[:(\-]|\s+du|\s+jusqu|\s*$)"
    r"|message\s+d['’]absence|notification\s+d['’]absence|je\s+suis\s+absente?|"
    r"out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto(?:matic)?[\s-]?reply|autoreply|"
    r"auto\s*:|auto[\s-]response|vacation\s+(?:reply|message|notice)|on\s+vacation|"
    r"abwesenheitsnotiz|automatische\s+antwort|risposta\s+automatica|respuesta\s+autom[aá]tica|"
    r"fuera\s+de\s+la\s+oficina|afwezig|automatisch\s+antwoord|frånvaro"
    r")", re.IGNORECASE)
_PRECEDENCE = {"auto_reply", "bulk", "junk"}


def check(msg) -> tuple[bool, str]:
    """(True, French reason) when MSG was written by a robot answering another mail."""
    auto = header_str(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return True, f"réponse automatique (Auto-Submitted: {auto})"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation"):
        if header_str(msg, name):
            return True, f"réponse automatique (en-tête {name})"
    suppress = header_str(msg, "X-Auto-Response-Suppress").lower()
    if suppress and re.search(r"\b(all|oof)\b", suppress) and header_str(msg, "X-MS-Exchange-Generated"
                                                                          "-Message-Source"):
        return True, "réponse automatique (message généré par Exchange)"
    precedence = header_str(msg, "Precedence").lower().strip()
    if precedence in _PRECEDENCE:
        return True, f"réponse automatique (Precedence: {precedence})"
    subject = header_str(msg, "Subject")
    if _SUBJECTS.match(subject):
        return True, f"réponse automatique (sujet « {subject[:80]} »)"
    return False, ""


def process(ctx, msg, msgdata):
    auto, reason = check(msg)
    if auto:
        raise Drop(reason)
