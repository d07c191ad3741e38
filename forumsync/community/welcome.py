"""Welcoming newcomers the roster diff found: a topic in « Présentations » and a welcome email
whose signed reply address is bound to that topic (replying posts their introduction there),
and the weekly list message naming the week's newcomers. Each step is idempotent.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from ..forum.gateway import ForumRejected, ForumUnavailable
from ..mail.inert import inert_name
from ..mail.text import inline_markdown
from ..models import utcnow
from ..models.subscriber import Subscriber
from .common import PRESENTATIONS_CATEGORY, ensure_category, external_id

log = logging.getLogger(__name__)


def display_name(subscriber) -> str:
    """The newcomer's name as they gave it (no bidi or control characters), else from their
    address. Plain text: ``welcome_topic_raw`` escapes it for Markdown."""
    if subscriber.name and inert_name(subscriber.name):
        return inert_name(subscriber.name)
    local = subscriber.email.split("@", 1)[0]
    words = (part for part in local.replace("_", ".").split(".") if part.strip("-"))
    # « jean-pierre.dupont » → « Jean-Pierre Dupont »: a hyphen joins the parts of one name
    return " ".join("-".join(piece.capitalize() for piece in word.split("-") if piece) for word in words)


def welcome_title(subscriber) -> str:
    return f"Bienvenue à {display_name(subscriber)} : présentez-vous !"


def welcome_topic_raw(settings, subscriber) -> str:
    themes = ", ".join(t["name"] for t in settings.THEMES) or "SVE, open data, portail famille…"
    return (
        # the name is the subscriber's own writing: no mention, image or markup from it
        f"Bienvenue dans le {settings.LIST_NAME}, {inline_markdown(display_name(subscriber))} !\n\n"
        "Pour faire connaissance, présentez-vous en répondant à ce sujet "
        "(ou simplement en répondant au courriel de bienvenue) :\n\n"
        "- **Collectivité** : où travaillez-vous ?\n"
        "- **Projet** : ce que vous faites ou prévoyez avec Publik\n"
        f"- **Thèmes d'intérêt** : par exemple {themes}\n\n"
        "Les membres du club sont là pour vous aider. À bientôt sur le forum !"
    )


def welcome_email_text(settings, subscriber) -> str:
    return (
        f"Bonjour {display_name(subscriber)},\n\n"
        f"Bienvenue dans le {settings.LIST_NAME} ! Les échanges de la liste sont aussi sur le "
        f"forum {settings.FORUM_NAME}.\n\n"
        "Pour faire connaissance, répondez simplement à ce courriel en quelques lignes : "
        "votre réponse sera publiée comme présentation sur le forum, dans le sujet ouvert "
        "pour vous.\n\n"
        "- Collectivité : \n"
        "- Projet : \n"
        "- Thèmes d'intérêt : \n\n"
        f"Bonne découverte,\nL'équipe d'animation du {settings.LIST_NAME}\n"
    )


def welcome_subject(settings) -> str:
    return f"Bienvenue dans le {settings.LIST_NAME} : présentez-vous !"


def build_welcome_email(settings, subscriber, topic_id: int, post_id: int | None = None):
    """The welcome EmailMessage (outbound.compose builds every email). Its Reply-To is a signed
    address bound to the presentation topic and to this subscriber (outbound.replykeys)."""
    from ..outbound import compose

    return compose.compose_personal(
        settings, to=subscriber.email, to_name=subscriber.name or "",
        subject=welcome_subject(settings), text=welcome_email_text(settings, subscriber),
        topic_id=topic_id, post_id=post_id)


def welcome_one(ctx, subscriber_id: int) -> bool:
    """Create the presentation topic and queue the welcome email (each step idempotent)."""
    from ..outbound import outbox

    with ctx.db.session() as session:
        sub = session.get(Subscriber, subscriber_id)
        if sub is None or sub.welcome != "pending" or sub.state != "subscribed":
            return False
        session.expunge(sub)
    category_id = ensure_category(ctx.forum, PRESENTATIONS_CATEGORY)
    ext = external_id("pres", sub.source, sub.email)
    post_id = None
    topic_id = sub.topic_id
    if topic_id is None:
        existing = ctx.forum.topic_by_external_id(ext)
        if existing is not None:
            topic_id = existing["id"]
            posts = existing.get("post_stream", {}).get("posts") or [{}]
            post_id = posts[0].get("id")
        else:
            raw = welcome_topic_raw(ctx.settings, sub)
            try:
                post = ctx.forum.topic_create(welcome_title(sub), raw, category_id, external_id=ext)
            except ForumRejected:  # e.g. a namesake's title already used: make it unique
                post = ctx.forum.topic_create(f"{welcome_title(sub)} ({sub.id})", raw, category_id,
                                              external_id=ext)
            topic_id, post_id = post["topic_id"], post["id"]
        with ctx.db.session() as session:
            session.get(Subscriber, subscriber_id).topic_id = topic_id
    message = build_welcome_email(ctx.settings, sub, topic_id, post_id)
    with ctx.db.session() as session:
        outbox.enqueue(session, f"welcome:{sub.source}:{sub.email}", message, [sub.email])
        row = session.get(Subscriber, subscriber_id)
        row.welcome, row.welcomed_at = "welcomed", utcnow()
    log.info("nouvel abonné accueilli : sujet %s", topic_id)
    return True


def welcome_pending(ctx, limit: int = 50) -> int:
    with ctx.db.session() as session:
        ids = list(session.scalars(
            select(Subscriber.id).where(Subscriber.welcome == "pending",
                                        Subscriber.state == "subscribed")
            .order_by(Subscriber.id).limit(limit)))
    done = 0
    for sid in ids:
        try:
            done += welcome_one(ctx, sid)
        except ForumUnavailable as exc:  # try again at the next run
            log.warning("accueil des nouveaux abonnés interrompu : %s", exc)
            break
        except ForumRejected as exc:  # this one cannot be welcomed: don't block the others
            log.error("accueil de l'abonné %s refusé par le forum : %s", sid, exc)
            with ctx.db.session() as session:
                session.get(Subscriber, sid).welcome = "failed"
    return done


# ---------------------------------------------------------------------- weekly digest
def digest_text(settings, newcomers) -> str:
    lines = [f"Bonjour à toutes et à tous,\n\nCette semaine, {len(newcomers)} "
             f"{'personne a' if len(newcomers) == 1 else 'personnes ont'} rejoint le {settings.LIST_NAME} :\n"]
    for sub in newcomers:
        where = f" — {settings.FORUM_URL}/t/{sub.topic_id}" if sub.topic_id else ""
        lines.append(f"- {display_name(sub)}{where}")
    lines.append("\nN'hésitez pas à leur souhaiter la bienvenue sur le forum !\n")
    return "\n".join(lines)


# A newcomer is named in a digest when welcomed within this span (a week, and the week a digest
# already out made them wait).
DIGEST_RECENT = timedelta(days=14)


def send_digest(ctx, *, now=None) -> int:
    """The weekly list message naming the week's newcomers (setting NEWCOMERS_DIGEST)."""
    from ..outbound import compose, outbox

    now = now or utcnow()
    with ctx.db.session() as session:
        waiting = list(session.scalars(
            select(Subscriber).where(Subscriber.welcome == "welcomed", Subscriber.digest_at.is_(None),
                                     Subscriber.state == "subscribed").order_by(Subscriber.id)))
        # Welcomed before the digest was turned on (or long ago): not this week's newcomers,
        # marked without being named (red team, 31st pass: the first digest named everyone).
        since = now - DIGEST_RECENT
        newcomers = [sub for sub in waiting if sub.welcomed_at is None or sub.welcomed_at >= since]
        for sub in waiting:
            if sub not in newcomers:
                sub.digest_at = now
        if not newcomers:
            return 0
        week = now.strftime("%G-S%V")
        message = compose.compose_personal(
            ctx.settings, to=ctx.settings.LIST_ADDRESS, to_name=ctx.settings.LIST_NAME,
            subject=f"Les nouveaux membres du club (semaine {now.strftime('%V')})",
            text=digest_text(ctx.settings, newcomers))
        if not outbox.enqueue(session, f"newcomers:{week}", message, [ctx.settings.LIST_ADDRESS]):
            return 0  # this week's digest is out: they wait for next week's (were marked, never named)
        for sub in newcomers:
            sub.digest_at = now
    return len(newcomers)
