"""Stage ``author``: who posts the message on the forum, decided once, here, from facts.

It runs after the stages that find the facts it needs, and asks the forum nothing:

- the sender (``sender``): their own account (``sender_account``), else a staged user the
  plugin creates (``sender_staged``: Discourse's "known by email only" account), else the
  bridge account (``FORUM_API_USERNAME``);
- never the topic's state: a reply to a closed or archived topic is not posted in it
  (``closed_topic`` sends it to the topic's continuation), so the bridge's admin rights never
  open a topic a lead closed;
- the forum refusing the poster at write time (403: category permissions, silenced…; or the
  plugin refusing to stage them): ``refusal_policy`` asks for the documented fallback,
  ``fall_back``, which records ``poster_refused`` and decides again: the bridge.

Sets ``username`` (the account posting it; None for a staged post), ``staged`` and
``attribution``: when the bridge account posts, a one-line French attribution naming the
sender and their organisation, written when the bridge is first chosen and kept after.
No other module sets these keys. ``batch`` decides with the topic taken as open: the plugin
refuses an item in a closed topic, which then goes the one-by-one way (topic read first).
"""
from __future__ import annotations

import re

from .msgdata import MsgData

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


def process(ctx, msg, msgdata: MsgData) -> None:
    bridge = ctx.settings.FORUM_API_USERNAME
    account, staged = msgdata.get("sender_account"), bool(msgdata.get("sender_staged"))
    if account == bridge or ((account or staged) and not _bridge_needed(msgdata)):
        # The sender's own identity: their account, or a staged user.
        msgdata.update(username=account, staged=staged and not account, attribution=None)
    elif msgdata.get("username") != bridge or not msgdata.get("attribution"):
        # The bridge account; its attribution line is written once (a decision run again,
        # after ``publish`` found the topic gone, keeps it).
        msgdata.update(username=bridge, staged=False, attribution=attribution(ctx.settings, msgdata))


def fall_back(ctx, msgdata: MsgData) -> bool:
    """The documented fallback when the forum refuses the poster (``refusal_policy``): the
    bridge account posts it, with the attribution line. False when it already does."""
    if msgdata.get("username") == ctx.settings.FORUM_API_USERNAME:
        return False
    msgdata["poster_refused"] = True
    process(ctx, None, msgdata)
    return True


def _bridge_needed(msgdata) -> bool:
    """A poster the forum refused."""
    return bool(msgdata.get("poster_refused"))


def marked(name: str) -> str:
    name = (name or "").strip()
    return name if name.endswith(UNVERIFIED_MARK) else f"{name} {UNVERIFIED_MARK}".strip()


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
    """Markdown's characters escaped, and "." too: a name or an organisation that is a domain
    (« example.org ») is no link then (linkify runs before the escapes are joined)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace(".", "\\.")
