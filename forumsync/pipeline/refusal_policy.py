"""What ``publish`` does when the forum refuses a post: one policy, tried in this order.

1. a new topic refused while nothing was wrong with it: the forum may already have it (a
   previous life of this database): ``LINKED`` when ``reconcile`` finds and records it;
   a post refused as identical to one this account made a moment ago (``BODY_RECENT``,
   PostValidator#unique_post_validator): its raw carries this message's marker, so it is
   this message, written by an earlier attempt: ``LINKED`` when ``reconcile`` finds it,
   else a ``Retry`` (never a changed text: that would post it twice);
2. the plugin refused a post sent with its files (a file too big, a forbidden extension…):
   the files go one by one (``files_apart``), so the refused one is named in the post and the
   others still make it: ``RECOMPOSE``;
3. the forum named content problems (``forum.refusals.ContentRefused``: title reused or too
   short, body too short or too long) not yet worked around: ``REFIT`` with them;
4. the place refused (403, or the plugin's ``topic_closed`` / ``category_closed``: the topic was
   closed, moved or made read-only since this run read it): once, ``FOLLOW`` for a reply (the
   stages that decide the place run again on fresh reads: a continuation, a new topic…); for
   a new topic, a ``Retry`` when the categories read again choose another one (red-team
   pass 18), else on to 5 (a place refusal is never a refused account);
5. the sender's account may not post there (403: category permissions, silenced…), or the
   plugin may not stage them for a reason we cannot fix (422: an address or a Message-ID it
   finds invalid), or the account wrote the topic's last ``max_consecutive_replies`` posts
   (``ConsecutiveReplies``: a list member answering several times in a row), or it is a new
   user (trust level 0) whose post is over a new user's limits (``NewUserLimit``: links,
   images, attachments, replies in one topic): the author's
   documented fallback (``author.fall_back``, which alone sets the poster: the bridge
   account with the attribution line): ``RECOMPOSE`` — only where everyone may write
   (``_list_may_write``): the bridge stands in for an account, never for a place; elsewhere
   the refusal stands (quarantined with its reason; consecutive replies: retried later, the
   forum lets the reply through once someone else answered or the last one is too old to
   be edited).
Anything else (and a reply's 404: the topic vanished, which ``publish`` follows): None, the
refusal stands. Each step applies at most once per problem, so the loop ends.
"""
from __future__ import annotations

from enum import Enum

from ..forum.eligibility import CREATE_POST, everyone_may
from ..forum.gateway import ForumNotFound, ForumRejected
from ..forum.refusals import (BODY_RECENT, TITLE_EMOJI, TITLE_NO_EMOJI, TITLE_PROBLEMS,
                              ConsecutiveReplies, ContentRefused, Forbidden, NewUserLimit)
from . import author, categories, reconcile, records
from .errors import Quarantine, Retry


class Remedy(Enum):
    """What ``publish`` does next: nothing to write (LINKED), compose again (RECOMPOSE: the
    files or the poster changed), fit the same draft to the problems learnt (REFIT), or decide
    the place again from the forum as it is now (FOLLOW: the topic was closed, moved or made
    read-only since this run read it)."""

    LINKED = "linked"
    RECOMPOSE = "recompose"
    REFIT = "refit"
    FOLLOW = "follow"


# The plugin's refusals of a place (the staged post skips the guardian, so it checks these).
PLACE_ERRORS = frozenset({"topic_closed", "category_closed"})


def remedy(ctx, msgdata, exc: ForumRejected, problems: set[str], new_topic: bool) -> Remedy | None:
    """The remedy for EXC (see the module docstring); PROBLEMS grows with what is learnt."""
    if not new_topic and isinstance(exc, ForumNotFound):
        return None
    if new_topic and not problems and reconcile.link_existing_topic(ctx, msgdata):
        return Remedy.LINKED
    if BODY_RECENT in getattr(exc, "problems", ()):
        return _written_already(ctx, msgdata, new_topic)
    if _files_apart(msgdata):
        return Remedy.RECOMPOSE
    if _learn(problems, exc, new_topic):
        return Remedy.REFIT
    place_refused = isinstance(exc, Forbidden) or getattr(exc, "error_type", None) in PLACE_ERRORS
    if place_refused and not msgdata.get("place_followed"):
        msgdata["place_followed"] = True  # once: read the topic and categories again, decide again
        if not new_topic:
            return Remedy.FOLLOW
        if _topic_category_changed(ctx, msgdata):  # else the place stands: the account, maybe
            raise Retry("le forum refuse d'ouvrir le sujet dans cette catégorie (droits changés) : "
                        "nouvel essai avec les catégories relues")
    if _poster_refused(exc, msgdata) and _list_may_write(ctx, msgdata, new_topic) \
            and author.fall_back(ctx, msgdata):
        return Remedy.RECOMPOSE
    if isinstance(exc, NewUserLimit):
        raise Quarantine("le forum limite les nouveaux membres (niveau de confiance 0 : liens, "
                         "images, pièces jointes, réponses dans un même sujet) et le compte de la "
                         f"passerelle ne peut pas publier ce message à sa place ({exc.errors[0] if exc.errors else exc}) : "
                         "à publier quand le compte aura le niveau 1 (forumsync inbox retry), ou à "
                         "faire publier par un modérateur")
    if isinstance(exc, ConsecutiveReplies):
        raise Retry("le forum refuse une réponse de plus de ce compte, auteur des dernières "
                    "réponses du sujet (max_consecutive_replies), et le compte de la passerelle "
                    "ne peut pas la publier à sa place : nouvel essai plus tard (le forum "
                    "l'accepte après la réponse de quelqu'un d'autre, ou quand la dernière ne "
                    "peut plus être modifiée)")
    fitted_for = set(getattr(exc, "problems", ())) - (set() if new_topic else TITLE_PROBLEMS)
    if isinstance(exc, ContentRefused) and fitted_for:  # all learnt already: fitted, refused again
        named = ", ".join(_PROBLEM_NAMES.get(p, p) for p in sorted(fitted_for))
        raise Quarantine(f"le forum refuse encore ce message une fois ajusté ({named} : "
                         f"{'; '.join(map(str, exc.errors)) or exc}) : vérifier les réglages du forum "
                         "(longueurs, emoji, titres), puis forumsync inbox retry, ou le publier à la main")
    return None


_PROBLEM_NAMES = {"title_used": "titre déjà pris", "title_short": "titre trop court",
                  "title_long": "titre trop long", "title_emoji": "trop d'emoji dans le titre",
                  "title_unclear": "titre jugé peu clair", "body_long": "message trop long",
                  "body_short": "message trop court", "body_unclear": "message jugé peu clair"}


def _written_already(ctx, msgdata, new_topic: bool) -> Remedy:
    """The forum holds this very post from an earlier attempt (see the module docstring, 1):
    recorded as ``reconcile`` records it, else tried again once the forum shows it (or once
    ``unique_posts_mins`` passed, if it is gone)."""
    if new_topic:
        if reconcile.link_existing_topic(ctx, msgdata):
            return Remedy.LINKED
    else:
        topic = msgdata.get("live_topic") or {}
        existing = reconcile.existing_reply(ctx, msgdata, topic)
        if existing:
            records.done(ctx, msgdata, existing, topic=topic)
            msgdata["reconciled"] = True
            return Remedy.LINKED
    raise Retry("le forum refuse ce message comme identique à un message que ce compte vient de "
                "publier (unique_posts_mins) : c'est ce message, écrit par un essai précédent ; "
                "nouvel essai plus tard, qui le retrouvera sur le forum")


def _files_apart(msgdata) -> bool:
    if not msgdata.get("post_files") or msgdata.get("files_apart"):
        return False
    msgdata["files_apart"] = True
    return True


def _learn(problems: set[str], exc: ForumRejected, with_title: bool) -> bool:
    found = set(getattr(exc, "problems", ()))
    if not with_title:
        found -= TITLE_PROBLEMS
    if TITLE_EMOJI in found and TITLE_EMOJI in problems:  # fitted to a maximum the forum no
        found.add(TITLE_NO_EMOJI)  # longer has (or never read): once more, with no emoji
    if not found - problems:
        return False
    problems |= found
    return True


def _topic_category_changed(ctx, msgdata) -> bool:
    """Whether the category a new topic goes to changes once the categories are read again
    (the one publish chose came from the same cache a moment ago): a Retry then takes the new
    one; an unchanged one is not retried (a member's refused account would retry for ever)."""
    def chosen():
        try:
            return categories.list_topic_category_id(ctx, msgdata.get("theme"))
        except Quarantine:
            return None
    before = chosen()
    ctx.forum.facts.invalidate_categories()
    return chosen() != before


def _poster_refused(exc: ForumRejected, msgdata) -> bool:
    """The forum refused who posts it, not what is posted (a refused place is never this)."""
    if getattr(exc, "error_type", None) in PLACE_ERRORS:
        return False
    staged_refused = msgdata.get("staged") and exc.status == 422
    return bool(isinstance(exc, (Forbidden, ConsecutiveReplies, NewUserLimit)) or exc.status == 403
                or staged_refused)


def _list_may_write(ctx, msgdata, new_topic: bool) -> bool:
    """Whether everyone may write there (open a topic in the theme's category, or reply in the
    topic's): the bridge (an admin) only stands in for a refused *account*, never opens a
    place its sender could not write in (red-team pass 13). Read only after a refusal."""
    if new_topic:  # the category publish chose is one where everyone may open a topic
        try:
            return categories.list_topic_category_id(ctx, msgdata.get("theme")) is not None
        except Quarantine:
            return False
    topic = msgdata.get("live_topic") or {}  # read again by FOLLOW before any fallback
    if topic.get("category_id") is None or topic.get("closed") or topic.get("archived"):
        return False
    return everyone_may(ctx.forum.facts.category_shown(topic["category_id"]), CREATE_POST)
