"""A guess of the sender's organisation for attribution lines (« Jeanne, Meyzieu »).

Kept simple on purpose: a signature line naming a French public body (« Mairie de Meyzieu »,
« Métropole de Lyon », « Conseil départemental du Rhône »…) wins; otherwise the sender's
domain, minus public-sector prefixes and its suffix, capitalised (``mairie-meyzieu.fr`` →
« Meyzieu », ``grandlyon.com`` → « Grandlyon »); webmail providers give None.
"""
from __future__ import annotations

import re

_BODIES = re.compile(
    r"^\s*((?:mairie|ville|commune|communaut[ée]\s+(?:de\s+communes|d['’]agglom[ée]ration|urbaine)|"
    r"m[ée]tropole|conseil\s+(?:d[ée]partemental|r[ée]gional)|d[ée]partement|r[ée]gion|"
    r"agglom[ée]ration|syndicat|pr[ée]fecture|centre\s+communal|ccas|sivom|sivu|sictom|"
    r"eurom[ée]tropole|collectivit[ée])\b[^\n]{2,60})$",
    re.IGNORECASE | re.MULTILINE)
_PROVIDERS = {
    "gmail", "googlemail", "yahoo", "hotmail", "outlook", "live", "msn", "icloud", "me", "mac",
    "orange", "wanadoo", "free", "sfr", "neuf", "laposte", "bbox", "aol", "gmx", "protonmail",
    "proton", "yandex", "mail", "numericable", "club-internet", "aliceadsl", "tiscali", "voila",
    "example", "localhost",
}
_SECOND_LEVEL = {"gouv", "asso", "com", "co", "org", "net", "ac", "edu", "nom", "tm"}
_SMALL_WORDS = {"de", "du", "des", "la", "le", "les", "et", "sur", "en", "d", "l"}
_PREFIXES = re.compile(r"^(?:mairie|ville|cc|ca|cu|agglo|commune|mail|mx|smtp|www)-", re.I)


def from_signature(text: str, lines: int = 15) -> str | None:
    """An organisation named in the last LINES lines of TEXT, or None."""
    tail = "\n".join(text.strip().split("\n")[-lines:])
    tail = re.sub(r"[*_`\\]", "", tail)
    match = _BODIES.search(tail)
    return " ".join(match.group(1).split()).rstrip(" ,.;") if match else None


def from_domain(address: str) -> str | None:
    """A readable organisation name from an address's domain, or None for webmails."""
    domain = address.rpartition("@")[2].lower().strip(".")
    labels = [l for l in domain.split(".") if l]
    if len(labels) < 2:
        return None
    labels = labels[:-1]  # the top-level domain
    if len(labels) >= 2 and labels[-1] in _SECOND_LEVEL:
        labels = labels[:-1]
    label = labels[-1]
    if label in _PROVIDERS:
        return None
    label = _PREFIXES.sub("", label)
    words = [w for w in re.split(r"[-_]", label) if w]
    return " ".join(w if w in _SMALL_WORDS else w.capitalize() for w in words) or None


def guess_organisation(address: str, body: str = "") -> str | None:
    return from_signature(body) or from_domain(address or "")
