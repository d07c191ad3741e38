"""The forum's members by look-alike key, to tell when a sender borrows a member's name.

Read with ``user_list`` (100 users a request) at most once per ``REFRESH_SECONDS`` and
gateway (kept in ``forum.facts``), so a bulk import does not pay a forum request per message.
Accounts and staged users (list members known by their address) both count: either one's name, from another address,
is a borrowed name. A name is also known without its organisation suffix (« Julien Petit
(Villeurbanne) » is « Julien Petit »), and a display name that holds an address is always
borrowed unless it is the sender's own address.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from ..forum.gateway import ForumRejected
from ..mail.lookalike import skeleton

log = logging.getLogger(__name__)

REFRESH_SECONDS = 600.0
MAX_PAGES = 50
FACT = "members.name_keys"  # forum.facts entry
FLAGS = ("active", "staged")
# « Nom (Organisation) », « Nom - rôle », « Nom, rôle », « Nom | rôle »: the person's name alone.
_SUFFIX = re.compile(r"\s*(?:\(.*|\[.*|[-–—|,/].*)$")
_ADDRESS = re.compile(r"[^\s<>()\[\]@,;:\"]+@[^\s<>()\[\]@,;:\"]+\.[^\s<>()\[\]@,;:\"]+")


# Civilities a name may start with (« Mme Marie Dupont » is Marie Dupont), by look-alike key.
_CIVILITIES = frozenset(skeleton(word) for word in (
    "m", "mme", "mlle", "mr", "mrs", "ms", "dr", "me", "pr", "monsieur", "madame", "mademoiselle"))


@lru_cache(maxsize=4096)  # a list's senders come back message after message
def name_keys(label: str) -> frozenset[str]:
    """The look-alike keys of LABEL, as written and without an organisation or role suffix:
    its words in order, in any order (« DUPONT Marie », the order of French administrative
    mail and of many address books), run together (« MarieDupont »), each also without a
    leading civility (« Mme Marie Dupont »). Punctuation separates words (« dupont.marie »)."""
    keys = set()
    for variant in (label or "", _SUFFIX.sub("", label or "")):
        words = skeleton(variant).split()
        bare = list(words)
        while len(bare) > 1 and bare[0] in _CIVILITIES:
            bare = bare[1:]
        for form in (words, bare):
            keys |= {" ".join(form), " ".join(sorted(form)), "".join(form)}
    return frozenset(key for key in keys if key)


def _read(forum) -> dict[str, set[str]]:
    """skeleton of a name or username → the lower-cased emails of the members bearing it."""
    keys: dict[str, set[str]] = {}
    for flag in FLAGS:
        for page in range(1, MAX_PAGES + 1):
            try:
                users = forum.user_list(flag, page)
            except ForumRejected as exc:  # a key without admin rights: mixed scripts still marked
                log.warning("liste des membres illisible (%s) : noms sosies non comparés", exc)
                break
            for user in users:
                email = (user.get("email") or "").lower()
                for label in (user.get("name"), user.get("username")):
                    for key in name_keys(label):
                        keys.setdefault(key, set()).add(email)
            if len(users) < 100:
                break
    return keys


def _load(forum) -> dict[str, set[str]]:
    return forum.facts.remember(FACT, REFRESH_SECONDS, _read)


def borrowed_name(forum, name: str, email: str) -> bool:
    """True when NAME looks like (same key as) a member's name or username, with or without
    its suffix, and EMAIL is not that member's address; or when NAME holds an address other
    than EMAIL."""
    email = (email or "").lower()
    if any(found.lower() != email for found in _ADDRESS.findall(name or "")):
        return True
    known = _load(forum)
    for key in name_keys(name):
        owners = known.get(key)
        if owners and email not in owners:
            return True
    return False


# Words that claim a role on the forum: a sender shows them only with the mark. By look-alike
# key, word by word; these stems as prefixes (« Administrateur », « Modératrice »), the others
# as whole words, with the forum's name and the bridge account's username.
# (« animat »: the theme leads, « Animatrice SVE », their groups « animateurs-<thème> »)
_ROLE_STEMS = ("admin", "moderat", "animat")
_ROLE_WORDS = ("staff", "system", "systeme", "webmaster", "postmaster", "root", "forumsync")


def claims_a_role(settings, name: str) -> bool:
    """NAME holds a word of a forum role (admin…, modérat…, animat…, staff, système…) or the forum's
    name (« Équipe Bistro ») or the bridge's username: never shown unmarked from mail."""
    words = skeleton(name or "").split()
    stems = [skeleton(stem) for stem in _ROLE_STEMS]
    whole = {skeleton(word) for word in _ROLE_WORDS}
    whole |= {key for label in (settings.FORUM_NAME, settings.FORUM_API_USERNAME)
              for key in skeleton(label or "").split()}
    return any(word in whole or word.startswith(tuple(stems)) for word in words)
