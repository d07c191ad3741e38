"""What a marked sender's staged username is made from (the plugin's ``username_hint``).

Discourse makes a staged user's username from the display name
(``Email::Receiver#find_or_create_user``: ``UserNameSuggester.suggest(sanitize_username(name)
.presence || email)``). For a sender whose name ``sender`` marked « (adresse non vérifiée) »,
that gave usernames such as ``Sophie_Martin_adress`` (the mark cut at 20 characters); and the
name without its mark is no better: the name was marked because it passes for a member's (or
claims a role), and the suggester would make ``Sophie_Martin1`` of it when ``sophie_martin``
is taken, a username that passes for the member's where Discourse shows usernames first.

So the username comes from the first of these that passes none of ``sender``'s checks
(a member's name or username by look-alike key, a role or the team, mixed scripts), as it is
written and as the suggester's ASCII form of it, each also without the number the suggester
appends to a taken username (« marie.dupont2 », « modo1 »), and no longer than the username
Discourse would cut it to: the name without the mark; the address's local part (the
domain's first label for ``contact@``, ``info@``…: ``UserNameSuggester.parse_name_from_email``);
else ``FALLBACK``, which says what the sender is. The display name keeps the mark.
"""
from __future__ import annotations

import re
import unicodedata

from ..mail.lookalike import mixed_script, skeleton
from . import members
from .author import UNVERIFIED_MARK

FALLBACK = "non_verifie"
# UserNameSuggester::GENERIC_NAMES: these local parts give the domain's first label.
GENERIC_NAMES = frozenset({"i", "me", "info", "support", "admin", "webmaster", "hello", "mail",
                           "office", "contact", "team"})
_NOT_USERNAME = re.compile(r"[^A-Za-z0-9_.-]+")
# SiteSetting.max_username_length's default: sanitize_username cuts there, and the beginning of
# a longer candidate may be a member's name (« Marie-Christine_Dupo » of « …Dupontel »).
MAX_USERNAME_LENGTH = 20
# What UserNameSuggester appends when a username is taken (« marie1 », « marie.dupont2 »):
# a candidate is checked without it too.
_NUMBERED = re.compile(r"[\W_]*\d+$")
# Usernames that read as the forum's team, never shown from mail (words of the username, by
# look-alike key; claims_a_role already has admin…, modérat…, staff, system…).
_TEAM_WORDS = frozenset(skeleton(word) for word in ("equipe", "team", "modo", "moderation", "support"))


def choose(ctx, name: str, email: str) -> str:
    """The text the plugin makes the staged username of EMAIL from (see the module)."""
    for candidate in (name.removesuffix(UNVERIFIED_MARK).strip(), address_name(email)):
        if _usable(ctx, candidate, email):
            return candidate
    return FALLBACK


def address_name(email: str) -> str:
    """UserNameSuggester.parse_name_from_email: the local part, or the domain's first label
    for a generic local part."""
    local, _, domain = (email or "").partition("@")
    return domain.split(".")[0] if local.lower() in GENERIC_NAMES and domain else local


def ascii_form(text: str) -> str:
    """Roughly what UserNameSuggester.sanitize_username keeps (transliterated; anything else
    becomes « _ »): what the username would show."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NOT_USERNAME.sub("_", folded.encode("ascii", "replace").decode().replace("?", "_")).strip("_.-")


def _usable(ctx, candidate: str, email: str) -> bool:
    shown = ascii_form(candidate)
    if not re.search(r"[A-Za-z0-9]", shown):
        return False  # the plugin would fall back to the address, checked next
    if len(shown) > MAX_USERNAME_LENGTH or mixed_script(candidate):
        return False
    texts = {candidate, shown} | {_NUMBERED.sub("", text) for text in (candidate, shown)}
    return not any(members.borrowed_name(ctx.forum, text, email) or
                   members.claims_a_role(ctx.settings, text) or
                   _TEAM_WORDS.intersection(skeleton(text).split()) for text in texts if text)
