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
    # TextSentinel (text_quality.py) and PostValidator (post_validator.py)
    "Title seems unclear, most of the words contain the same letters over and over?":
        "titre peu lisible (trop peu de lettres différentes)",
    "Title seems unclear, one or more words is very long?":
        "titre peu lisible (un mot trop long)",
    "Title seems unclear, did you mean to enter it in ALL CAPS?":
        "titre peu lisible (tout en capitales)",
    "Title seems unclear, is it a complete sentence?": "titre peu lisible (ni lettre ni chiffre)",
    "Body seems unclear, is it a complete sentence?":
        "message peu lisible (tout en capitales, trop peu de lettres différentes, ou ni lettre "
        "ni chiffre)",
    "Body is too similar to what you recently posted":
        "message identique à l'un des vôtres de ces dernières minutes",
    "Sorry, new users can't put links in posts.": "un nouveau membre ne peut pas mettre de lien",
    "Sorry, new users can't embed media items in posts.":
        "un nouveau membre ne peut pas mettre d'image ni de média",
    "Sorry, new users can't put attachments in posts.":
        "un nouveau membre ne peut pas joindre de fichier",
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
    (re.compile(r"^No more than (\d+) consecutive replies are allowed\. .*$"),
     lambda m: f"pas plus de {m[1]} réponses à la suite : modifiez votre dernière réponse, ou "
               "attendez qu'un autre membre réponde"),
    (re.compile(r"^Sorry, new users can only put (\d+|one) (link|embedded media item|attachment)s? in a post\.$"),
     lambda m: "un nouveau membre ne peut mettre " + (
         {"link": "qu'un lien", "embedded media item": "qu'une image ou un média",
          "attachment": "qu'un fichier joint"}[m[2]] if m[1] == "one" else
         f"que {m[1]} " + {"link": "liens", "embedded media item": "images ou médias",
                           "attachment": "fichiers joints"}[m[2]]) + " par message"),
    (re.compile(r"^We're sorry, but new users are temporarily limited to (\d+) repl(?:y|ies) in the same topic\.$"),
     lambda m: f"un nouveau membre est pour l'instant limité à {m[1]} réponse(s) dans un même sujet"),
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
