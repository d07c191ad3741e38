"""Stage ``sender``: who the mail says sent it, and how far that claim is believed.

``From`` is a claim. The list MTA's ``Authentication-Results`` (``AUTHSERV_ID``,
``forumsync.mail.authresults``) decide how far it is believed:

- **fail** (DMARC, or an aligned DKIM/SPF result, failed for the address; or the
  authenticated author is someone else than the one the mail names): nothing is posted under
  anyone's name; the message goes to **quarantine** with the reason (Discourse puts such mail
  in its review queue: ``NewPostManager`` ``email_auth_res_enqueue``). The operator sees it
  in ``forumsync inbox list`` and drops it or has it resent from a checked address.
- **pass**: the forum account with that address may post it.
- **no verdict**: an existing account may post it, unless it is staff (admin, moderator or
  theme lead): then only the bridge account may, with the name marked « adresse non vérifiée ».
- an account that may not post (deactivated, silenced, suspended: ``account_refusal``, as
  Discourse's ``Email::Receiver`` refuses it) gets nothing posted in its name, verdict or not:
  **quarantine**, with the reason.
  A ``From`` holding several addresses is never mapped to any account, nor is a munged mail
  whose Reply-To / Cc / X-Original-From / Sender offer several (``mail.sender.author_claims``).

Otherwise a staged user (Discourse's "known by email only" account) when the forum has the
discourse-forumsync plugin, else the bridge account. A display name (or address) that looks
like a member's name (same key once homoglyphs, case and accents are folded,
``forumsync.mail.lookalike``) while the address is not that member's, or that mixes scripts,
gets the mark « (adresse non vérifiée) » in ``from_name``; so does a name that claims a forum
role (« admin », « Modératrice », « Équipe Bistro »: ``members.claims_a_role``). A staged
sender so marked also gets ``username_hint``, what the plugin makes its username from
instead of the marked name (``username_hint.choose``: never a member's name, nor a role).

These are facts, found once (user lookups are cached by the gateway): ``sender_account``
(the account that may post under its own name) and ``sender_staged`` (the plugin may stage
the sender); neither means the bridge. The ``author`` stage decides who posts from them and
from the topic as the forum shows it now.
"""
from __future__ import annotations

from ..mail.addresses import header_addresses
from ..mail.authresults import FAIL, PASS, verdict
from ..mail.lookalike import mixed_script
from . import members, moderators, username_hint
from .author import UNVERIFIED_MARK, marked
from .errors import Quarantine
from .msgdata import MsgData


def process(ctx, msg, msgdata: MsgData) -> None:
    email = (msgdata.get("from_email") or "").strip().lower()
    msgdata.update(sender_account=None, sender_staged=False, username_hint=None)
    from_addresses = [a for _, a in header_addresses(msg, "From") if a]
    # Several addresses in From, or in the headers a munged mail names its author in (found
    # by the parse stage): the mail names several authors, none is believed.
    several = len(set(from_addresses)) > 1 or bool(msgdata.get("several_authors"))
    check = verdict(msg, ctx.settings.AUTHSERV_ID, email,
                    from_header_domain=from_addresses[0].rpartition("@")[2] if from_addresses else None)
    msgdata.update(auth_verdict=check.status, auth_reason=check.reason)
    if check.status == FAIL:
        raise Quarantine(f"expéditeur non authentifié ({check.reason}) : message retenu, rien "
                         f"n'est publié au nom de {email or 'cet expéditeur'} ; à vérifier avant "
                         "de le faire renvoyer depuis une adresse authentifiée, ou à abandonner")
    user = ctx.forum.user_by_email(email) if email and not several else None
    refused = account_refusal(user) if user and user.get("username") else None
    if refused:
        raise Quarantine(f"le compte du forum de {email} est {refused} : rien n'est publié en son "
                         "nom (Discourse refuse aussi ce courriel : Email::Receiver) ; à publier "
                         "quand le compte sera rétabli (forumsync inbox retry), ou à abandonner")
    if user and user.get("username") and not user.get("staged"):
        if check.status == PASS or not is_staff(user, ctx.forum):
            msgdata["sender_account"] = user["username"]
        else:
            # A staff address without a verdict: never its account, never a staged post (the
            # plugin would find the same account by email): the bridge, name marked.
            _mark(msgdata, email)
        return
    if several or _looks_borrowed(ctx, msgdata, email):
        _mark(msgdata, email)
    msgdata["sender_staged"] = bool(email and not several and ctx.forum.has_feature("staged_posts"))
    if msgdata["sender_staged"] and (msgdata.get("from_name") or "").endswith(UNVERIFIED_MARK):
        msgdata["username_hint"] = username_hint.choose(ctx, msgdata["from_name"], email)


def account_refusal(user: dict) -> str | None:
    """Why USER (as ``/admin/users/list`` serializes it: AdminUserListSerializer) may not post,
    in French, or None. Email::Receiver#log_and_validate_user: an inactive account that is not
    staged (InactiveUserError), a silenced one, staged or not (SilencedUserError); and a
    suspended user may not post at all (Guardian)."""
    if not user.get("staged") and not user.get("active", True):
        return "désactivé"
    if user.get("silenced"):  # serialized only while silenced (include_silenced?)
        return "réduit au silence"
    if user.get("suspended_till"):  # serialized only while suspended (include_suspended_till?)
        return "suspendu"
    return None


def is_staff(user: dict, forum=None) -> bool:
    """Admin, moderator, or a category moderator (a theme lead, through its group)."""
    if user.get("admin") or user.get("moderator"):
        return True
    return forum is not None and moderators.is_lead(forum, user.get("username") or "")


def _mark(msgdata, email: str) -> None:
    msgdata["from_name"] = marked(msgdata.get("from_name") or email.partition("@")[0])


def _looks_borrowed(ctx, msgdata, email: str) -> bool:
    """The name shown (display name, else the address's local part) passes for a member's."""
    name = (msgdata.get("from_name") or "").strip() or email.partition("@")[0]
    if mixed_script(name) or mixed_script(email):
        return True
    return members.borrowed_name(ctx.forum, name, email) or \
        members.borrowed_name(ctx.forum, email.partition("@")[0], email) or \
        members.claims_a_role(ctx.settings, name)
