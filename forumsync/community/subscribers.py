"""Welcoming newcomers: poll the list's roster, welcome new subscribers on the forum and by email.

Sources (setting ``SUBSCRIBER_SOURCES``):

- ``{"type": "mailman", "url": "http://127.0.0.1:8001/3.1", "user": …, "password": …,
  "list": "club@listes.example.org"}``: the Mailman 3 REST API, through mailmanclient;
- ``{"type": "csv", "path": "abonnes.csv"}``: a roster file with an ``email`` column (and an
  optional ``name`` column), or e-mail address then name without a header line.

An optional ``"name"`` names the source (default: ``mailman:<list>`` / ``csv:<path>``).

The roster is diffed against what forumsync recorded. The first run of a source records the
existing roster without welcoming anyone; afterwards each new subscriber gets a topic in
« Présentations » and a welcome email whose signed reply address is bound to that topic, so
that replying posts their introduction there. Unsubscribes are recorded, never announced.
Like mailman2discourse, each step is idempotent and writes nothing when nothing changed.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from ..forum.gateway import ForumRejected, ForumUnavailable
from ..models import get_state, set_state, utcnow
from ..models.subscriber import Subscriber
from .common import PRESENTATIONS_CATEGORY, claim_due, ensure_category, external_id

log = logging.getLogger(__name__)


class SourceError(Exception):
    """A subscriber source that cannot be read (French message)."""


# ------------------------------------------------------------------------------------ sources
def source_name(source: dict) -> str:
    if source.get("name"):
        return str(source["name"])
    if source.get("type") == "mailman":
        return f"mailman:{source.get('list', '')}"
    return f"{source.get('type', '?')}:{source.get('path', '')}"


def read_mailman(source: dict) -> dict[str, str]:
    """{email: display name} of the list's members, from Mailman 3's REST API."""
    from mailmanclient import Client

    try:
        client = Client(source["url"], source.get("user", "restadmin"), source.get("password", ""))
        mlist = client.get_list(source["list"])
        members = mlist.get_roster("member", fields=["email", "display_name"])
    except KeyError as exc:
        raise SourceError(f"source Mailman incomplète : clé {exc} manquante") from None
    except Exception as exc:  # mailmanclient raises HTTPError, ConnectionError… without a common base
        raise SourceError(f"liste Mailman {source.get('list')} illisible : {exc}") from None
    roster = {}
    for member in members:
        email = (member.rest_data.get("email") or "").strip().lower()
        if email:
            roster[email] = member.rest_data.get("display_name") or ""
    return roster


def read_csv(source: dict, base_dir: Path | None = None) -> dict[str, str]:
    """{email: name} from a CSV roster (header with ``email``/``name``, or email,name rows)."""
    path = Path(source["path"])
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceError(f"fichier d'abonnés {path} illisible : {exc.strerror}") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    roster: dict[str, str] = {}
    if not rows:
        return roster
    header = [h.strip().lower() for h in rows[0]]
    email_col, name_col = 0, 1
    if any(h in ("email", "e-mail", "courriel", "adresse") for h in header):
        email_col = next(i for i, h in enumerate(header) if h in ("email", "e-mail", "courriel", "adresse"))
        name_col = next((i for i, h in enumerate(header) if h in ("name", "nom", "display_name")), None)
        rows = rows[1:]
    for row in rows:
        if len(row) <= email_col:
            continue
        email = row[email_col].strip().lower()
        if "@" not in email:
            continue
        name = row[name_col].strip() if name_col is not None and len(row) > name_col else ""
        roster[email] = name
    return roster


def read_source(source: dict, base_dir: Path | None = None) -> dict[str, str]:
    kind = source.get("type")
    if kind == "mailman":
        return read_mailman(source)
    if kind == "csv":
        return read_csv(source, base_dir)
    raise SourceError(f"type de source d'abonnés inconnu « {kind} » (mailman ou csv)")


# ------------------------------------------------------------------------------------ diffing
@dataclass
class RosterDiff:
    source: str
    baseline: bool = False            # first run: roster recorded, nobody welcomed
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)  # came back after unsubscribing
    renamed: list[str] = field(default_factory=list)
    before: int = 0                   # subscribed count before
    after: int = 0                    # subscribed count after

    @property
    def changed(self) -> bool:
        return bool(self.baseline or self.added or self.removed or self.returned or self.renamed)


def apply_roster(session, name: str, roster: dict[str, str], *, dry_run: bool = False) -> RosterDiff:
    """Record ROSTER ({email: name}) for source NAME; nothing is written when it is unchanged."""
    state_key = f"subscribers:baseline:{name}"
    first_run = get_state(session, state_key) is None
    rows = {s.email: s for s in session.scalars(select(Subscriber).where(Subscriber.source == name))}
    diff = RosterDiff(source=name, baseline=first_run)
    diff.before = sum(1 for s in rows.values() if s.state == "subscribed")
    now = utcnow()
    for email, display in sorted(roster.items()):
        row = rows.get(email)
        if row is None:
            diff.added.append(email)
            if not dry_run:
                session.add(Subscriber(source=name, email=email, name=display or "",
                                       state="subscribed",
                                       welcome="baseline" if first_run else "pending",
                                       first_seen_at=now, subscribed_at=now))
        elif row.state != "subscribed":
            diff.returned.append(email)
            if not dry_run:
                row.state, row.subscribed_at, row.unsubscribed_at = "subscribed", now, None
        elif display and display != row.name:
            diff.renamed.append(email)
            if not dry_run:
                row.name = display
    for email, row in sorted(rows.items()):
        if row.state == "subscribed" and email not in roster:
            diff.removed.append(email)
            if not dry_run:
                row.state, row.unsubscribed_at = "unsubscribed", now
    if first_run and not dry_run:
        set_state(session, state_key, {"at": now.isoformat(), "count": len(roster)})
    if first_run:
        diff.added = []  # recorded as the baseline, not as newcomers
    diff.after = diff.before + len(diff.added) + len(diff.returned) - len(diff.removed)
    if first_run:
        diff.after = len(roster)
    return diff


def sync_source(ctx, source: dict, *, dry_run: bool = False) -> RosterDiff:
    name = source_name(source)
    roster = read_source(source, getattr(ctx.settings, "_base_dir", None))
    with ctx.db.session() as session:
        diff = apply_roster(session, name, roster, dry_run=dry_run)
    if diff.changed:
        log.info("abonnés %s : %d nouveaux, %d départs, %d retours%s", name, len(diff.added),
                 len(diff.removed), len(diff.returned), " (état initial)" if diff.baseline else "")
    return diff


# ------------------------------------------------------------------------------------ welcome
def display_name(subscriber) -> str:
    if subscriber.name:
        return subscriber.name
    local = subscriber.email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in local.replace("_", ".").replace("-", ".").split(".") if part)


def welcome_title(subscriber) -> str:
    return f"Bienvenue à {display_name(subscriber)} : présentez-vous !"


def welcome_topic_raw(settings, subscriber) -> str:
    themes = ", ".join(t["name"] for t in settings.THEMES) or "SVE, open data, portail famille…"
    return (
        f"Bienvenue dans le {settings.LIST_NAME}, {display_name(subscriber)} !\n\n"
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


# ------------------------------------------------------------------------------------ weekly digest
def digest_text(settings, newcomers) -> str:
    lines = [f"Bonjour à toutes et à tous,\n\nCette semaine, {len(newcomers)} "
             f"{'personne a' if len(newcomers) == 1 else 'personnes ont'} rejoint le {settings.LIST_NAME} :\n"]
    for sub in newcomers:
        where = f" — {settings.FORUM_URL}/t/{sub.topic_id}" if sub.topic_id else ""
        lines.append(f"- {display_name(sub)}{where}")
    lines.append("\nN'hésitez pas à leur souhaiter la bienvenue sur le forum !\n")
    return "\n".join(lines)


def send_digest(ctx, *, now=None) -> int:
    """The weekly list message naming the week's newcomers (setting NEWCOMERS_DIGEST)."""
    from ..outbound import compose, outbox

    now = now or utcnow()
    with ctx.db.session() as session:
        newcomers = list(session.scalars(
            select(Subscriber).where(Subscriber.welcome == "welcomed", Subscriber.digest_at.is_(None),
                                     Subscriber.state == "subscribed").order_by(Subscriber.id)))
        if not newcomers:
            return 0
        week = now.strftime("%G-S%V")
        message = compose.compose_personal(
            ctx.settings, to=ctx.settings.LIST_ADDRESS, to_name=ctx.settings.LIST_NAME,
            subject=f"Les nouveaux membres du club (semaine {now.strftime('%V')})",
            text=digest_text(ctx.settings, newcomers))
        outbox.enqueue(session, f"newcomers:{week}", message, [ctx.settings.LIST_ADDRESS])
        for sub in newcomers:
            sub.digest_at = now
    return len(newcomers)


# ------------------------------------------------------------------------------------ worker task
def run_scheduled(ctx, worker_id: str) -> int:
    """Worker task: every SUBSCRIBERS_INTERVAL_MINUTES, diff each roster and welcome newcomers;
    also keeps the collectivities directory in sync and sends the weekly digest when enabled."""
    settings = ctx.settings
    if not settings.SUBSCRIBER_SOURCES and not settings.COLLECTIVITIES:
        return 0
    with ctx.db.session() as session:
        if not claim_due(session, "subscribers:last_run", settings.SUBSCRIBERS_INTERVAL_MINUTES):
            return 0
    handled = 0
    errors = []
    for source in settings.SUBSCRIBER_SOURCES:
        try:
            diff = sync_source(ctx, source)
            handled += len(diff.added) + len(diff.removed) + len(diff.returned)
        except SourceError as exc:
            errors.append(str(exc))
            log.warning("abonnés : %s", exc)
    handled += welcome_pending(ctx)
    if settings.COLLECTIVITIES:
        from .directory import sync_directory

        report = sync_directory(ctx)
        handled += report.writes
    if settings.NEWCOMERS_DIGEST:
        with ctx.db.session() as session:
            due = claim_due(session, "subscribers:digest", 7 * 24 * 60)
        if due:
            handled += send_digest(ctx)
    with ctx.db.session() as session:
        set_state(session, "subscribers:status", {"at": utcnow().isoformat(), "errors": errors})
    return handled


def summary(session) -> dict:
    """Counts for the dashboard and the CLI."""
    from sqlalchemy import func

    subscribed = session.scalar(select(func.count()).select_from(Subscriber)
                                .where(Subscriber.state == "subscribed")) or 0
    unsubscribed = session.scalar(select(func.count()).select_from(Subscriber)
                                  .where(Subscriber.state == "unsubscribed")) or 0
    week_ago = utcnow() - timedelta(days=7)
    recent = list(session.scalars(select(Subscriber).where(Subscriber.welcome == "welcomed")
                                  .order_by(Subscriber.welcomed_at.desc()).limit(10)))
    new_week = sum(1 for s in recent if s.welcomed_at and s.welcomed_at >= week_ago)
    pending = session.scalar(select(func.count()).select_from(Subscriber)
                             .where(Subscriber.welcome == "pending", Subscriber.state == "subscribed")) or 0
    status = get_state(session, "subscribers:status", {}) or {}
    return {"subscribed": subscribed, "unsubscribed": unsubscribed, "recent": recent,
            "new_week": new_week, "pending": pending, "last_run": status.get("at"),
            "errors": status.get("errors", [])}
