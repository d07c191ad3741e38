"""Discourse's refusals in French for the local forum's HTML pages (people read them there).

The API keeps Discourse's English texts (clients and tests compare them); the UI shows
« Action refusée : vous n'avez pas le droit de faire cela. » instead of
« You are not permitted to view the requested resource. ». Unknown texts stay as they are.
"""
from __future__ import annotations

import re

from .errors import NOT_FOUND, NOT_PERMITTED

EXACT = {
    NOT_PERMITTED: "vous n'avez pas le droit de faire cela (compte sans ce droit, ou sujet fermé "
                   "ou archivé)",
    NOT_FOUND: "introuvable (supprimé ou jamais créé)",
    "Title can't be blank": "le titre est vide",
    "Title has already been used": "un sujet porte déjà ce titre",
    "You must choose a valid user.": "choisissez un utilisateur valide",
    "Some of the posts you selected are not in this topic.":
        "certains des messages choisis ne sont pas dans ce sujet",
    "utilisateur inconnu ou inactif": "utilisateur inconnu ou inactif",
}
PATTERNS = [
    (re.compile(r"^Title is too short \(minimum is (\d+) characters\)$"),
     lambda m: f"titre trop court ({m[1]} caractères au moins)"),
    (re.compile(r"^Title is too long \(maximum is (\d+) characters\)$"),
     lambda m: f"titre trop long ({m[1]} caractères au plus)"),
    (re.compile(r"^Body is too short \(minimum is (\d+) characters\)$"),
     lambda m: f"message trop court ({m[1]} caractères au moins)"),
    (re.compile(r"^Body is too long \(maximum is (\d+) characters\)$"),
     lambda m: f"message trop long ({m[1]} caractères au plus)"),
    (re.compile(r"^Sorry, (.+) is not a valid user\.$"),
     lambda m: f"« {m[1]} » n'est pas un utilisateur valide"),
]


def french(message: str) -> str:
    text = message.strip()
    if text in EXACT:
        return EXACT[text]
    for pattern, render in PATTERNS:
        match = pattern.match(text)
        if match:
            return render(match)
    return text
