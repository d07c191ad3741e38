"""Stage ``author``: who posts the message on the forum.

``From`` is a claim. The list MTA's ``Authentication-Results`` (``AUTHSERV_ID``,
``forumsync.mail.authresults``) decide how far it is believed:

- **fail** (DMARC, or an aligned DKIM/SPF result, failed for the address; or the
  authenticated author is someone else than the one the mail names): nothing is posted under
  anyone's name; the message goes to **quarantine** with the reason (Discourse puts such mail
  in its review queue: ``NewPostManager`` ``email_auth_res_enqueue``). The operator sees it
  in ``forumsync inbox list`` and drops it or has it resent from a checked address.
- **pass**: the forum account with that address posts it.
- **no verdict**: an existing account posts it, unless it is staff (admin or moderator):
  then the bridge account posts it with an attribution marked « adresse non vérifiée ».
  A ``From`` holding several addresses is never mapped to any account.

Then, as before:
1. a forum account with the sender's email posts it under its own name (lookups are cached
   by the gateway, so a busy thread costs one lookup per sender and process);
2. else, when the forum has the discourse-forumsync plugin, a staged user (Discourse's
   "known by email only" account) created by the plugin: ``msgdata['staged'] = True``;
3. else the bridge account (``FORUM_API_USERNAME``) posts it, with a one-line French
   attribution naming the sender and their organisation.

A display name (or address) that looks like a member's name (same key once homoglyphs,
case and accents are folded, ``forumsync.mail.lookalike``) while the address is not that
member's, or that mixes scripts, is shown with the mark « (adresse non vérifiée) ».
"""
from __future__ import annotations

import re

from ..mail.addresses import header_addresses
from ..mail.authresults import FAIL, PASS, verdict
from ..mail.lookalike import mixed_script
from . import members, moderators
from .errors import Quarantine

UNVERIFIED_MARK = "(adresse non vérifiée)"

# Mail providers whose domain says nothing about the sender's organisation.
PUBLIC_DOMAINS = {
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.fr", "hotmail.com", "hotmail.fr",
    "outlook.com", "outlook.fr", "live.com", "live.fr", "msn.com", "icloud.com", "me.com",
    "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "neuf.fr", "gmx.fr", "gmx.com",
    "gmx.de", "aol.com", "protonmail.com", "proton.me", "mailo.com", "yandex.ru", "qq.com",
    "163.com", "bbox.fr", "numericable.fr", "club-internet.fr",
}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")


def process(ctx, msg, msgdata) -> None:
    email = (msgdata.get("from_email") or "").strip().lower()
    msgdata.update(username=None, staged=False, attribution=None)
    from_addresses = [a for _, a in header_addresses(msg, "From") if a]
    several = len(set(from_addresses)) > 1
    check = verdict(msg, ctx.settings.AUTHSERV_ID, email,
                    from_header_domain=from_addresses[0].rpartition("@")[2] if from_addresses else None)
    msgdata.update(auth_verdict=check.status, auth_reason=check.reason)
    if check.status == FAIL:
        raise Quarantine(f"expéditeur non authentifié ({check.reason}) : message retenu, rien "
                         f"n'est publié au nom de {email or 'cet expéditeur'} ; à vérifier avant "
                         "de le faire renvoyer depuis une adresse authentifiée, ou à abandonner")
    user = ctx.forum.user_by_email(email) if email and not several else None
    if user and user.get("username") and user.get("active", True) and not user.get("staged"):
        if check.status == PASS or not is_staff(user, ctx.forum):
            msgdata["username"] = user["username"]
            return
        # A staff address without a verdict: never its account, never a staged post (the
        # plugin would find the same account by email).
        return _bridge(ctx, msgdata, mark=True)
    mark = several or _looks_borrowed(ctx, msgdata, email)
    if email and not several and ctx.forum.has_feature("staged_posts"):
        if mark:
            msgdata["from_name"] = marked(msgdata.get("from_name") or email.partition("@")[0])
        msgdata["staged"] = True
        return
    _bridge(ctx, msgdata, mark=mark)


def is_staff(user: dict, forum=None) -> bool:
    """Admin, moderator, or a category moderator (a theme lead, through its group)."""
    if user.get("admin") or user.get("moderator"):
        return True
    return forum is not None and moderators.is_lead(forum, user.get("username") or "")


def marked(name: str) -> str:
    name = (name or "").strip()
    return name if name.endswith(UNVERIFIED_MARK) else f"{name} {UNVERIFIED_MARK}".strip()


def _looks_borrowed(ctx, msgdata, email: str) -> bool:
    """The name shown (display name, else the address's local part) passes for a member's."""
    name = (msgdata.get("from_name") or "").strip() or email.partition("@")[0]
    if mixed_script(name) or mixed_script(email):
        return True
    return members.borrowed_name(ctx.forum, name, email) or \
        members.borrowed_name(ctx.forum, email.partition("@")[0], email)


def _bridge(ctx, msgdata, mark: bool) -> None:
    if mark:
        email = msgdata.get("from_email") or ""
        msgdata["from_name"] = marked(msgdata.get("from_name") or email.partition("@")[0])
    msgdata["username"] = ctx.settings.FORUM_API_USERNAME
    msgdata["attribution"] = attribution(ctx.settings, msgdata)


def organisation(msgdata) -> str | None:
    """The sender's organisation: guessed by ``parse`` (signature), else the mail domain."""
    if msgdata.get("organisation"):
        return msgdata["organisation"]
    domain = (msgdata.get("from_email") or "").rpartition("@")[2].lower()
    if not domain or domain in PUBLIC_DOMAINS:
        return None
    return domain


def attribution(settings, msgdata) -> str:
    """« *Message de Marie Dupont (Meyzieu) transmis depuis la liste Club Publik* »."""
    email = (msgdata.get("from_email") or "").strip()
    name = (msgdata.get("from_name") or "").strip()
    if not name:
        name = email.partition("@")[0] if email else "expéditeur inconnu"
    unverified = name.endswith(UNVERIFIED_MARK)
    name = name.removesuffix(UNVERIFIED_MARK).strip() or "expéditeur inconnu"
    who = _escape(name)
    org = organisation(msgdata)
    if org and org.lower() not in name.lower():
        who += f" ({_escape(org)})"
    if unverified:
        who += f" {UNVERIFIED_MARK}"
    if settings.EXPOSE_AUTHOR_EMAIL and email:
        who += f" <{email}>".replace("<", "&lt;").replace(">", "&gt;")
    from ..mail.french import de

    return f"*Message {de(who)} transmis depuis la liste {settings.LIST_NAME}*"


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
