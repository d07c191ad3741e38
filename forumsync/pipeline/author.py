"""Stage ``author``: who posts the message on the forum.

1. A forum account with the sender's email posts it under its own name (lookups are cached
   by the gateway, so a busy thread costs one lookup per sender and process).
2. Else, when the forum has the discourse-forumsync plugin, a staged user (Discourse's
   "known by email only" account) created by the plugin: ``msgdata['staged'] = True``.
3. Else the bridge account (``FORUM_API_USERNAME``) posts it, with a one-line French
   attribution naming the sender and their organisation.
"""
from __future__ import annotations

import re

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
    user = ctx.forum.user_by_email(email) if email else None
    if user and user.get("username") and user.get("active", True) and not user.get("staged"):
        msgdata["username"] = user["username"]
        return
    if email and ctx.forum.capabilities():
        msgdata["staged"] = True
        return
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
    who = _escape(name)
    org = organisation(msgdata)
    if org and org.lower() not in name.lower():
        who += f" ({_escape(org)})"
    if settings.EXPOSE_AUTHOR_EMAIL and email:
        who += f" <{email}>".replace("<", "&lt;").replace(">", "&gt;")
    from ..mail.french import de

    return f"*Message {de(who)} transmis depuis la liste {settings.LIST_NAME}*"


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
