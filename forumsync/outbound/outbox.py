"""The durable outbox: mail is stored first, then handed to the mail server, retried until it is.

``enqueue`` is idempotent on its key (``post:123``…): a key is stored, and so sent, only once.
``run_pending`` (a worker task) claims pending mails, sends them through ``smtp.send`` and
records the outcome: ``sent``; ``pending`` again with ``last_error`` and a backoff on a
transient failure; ``failed`` on a permanent refusal or after MAX_ATTEMPTS
(``forumsync outbox retry`` puts it back).

A forum post (keys ``post:ID``, ``edit:ID:VERSION``) is checked against the forum's live state
right before its hand-off: one that was moved to a restricted category, turned into a whisper,
hidden or deleted since it was queued ends ``dropped`` with the French reason, never sent.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import weakref
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..models import OutboxMail, TopicLink, utcnow
from ..pipeline.budget import OverBudget, cpu_budget
from . import smtp
from ..queues import OUTBOX, backoff
from .mailpolicy import POLICY

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BATCH = 50
INTERRUPTED_REASON = ("le worker s'est arrêté {n} fois pendant l'envoi de ce courriel (mémoire "
                      "épuisée, plantage ?) : mis de côté pour que la file avance ; "
                      "« forumsync outbox retry » le reprend")


def enqueue(session, key: str, message: EmailMessage, recipients, sender: str | None = None,
            not_before=None) -> bool:
    """Store ``message`` for sending under ``key``, not before NOT_BEFORE (a UTC datetime; None:
    at once); returns False if that key was already stored."""
    settings_sender = sender or _envelope_sender(message)
    values = dict(
        key=key[:200],
        message_id=str(message.get("Message-ID", "")).strip().strip("<>"),
        sender=settings_sender,
        recipients=[str(r) for r in recipients],
        raw=message.as_bytes(policy=POLICY),
        subject=str(message.get("Subject", "")),
        state="pending",
        attempts=0,
        last_error="",
        created_at=utcnow(),
        next_attempt_at=not_before,
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (insert(OutboxMail).values(**values).on_conflict_do_nothing(index_elements=["key"])
                 .returning(OutboxMail.id))
    return session.execute(statement).first() is not None


def _envelope_sender(message: EmailMessage) -> str:
    sender = message.get("From")
    addresses = getattr(sender, "addresses", ()) if sender is not None else ()
    return addresses[0].addr_spec if addresses else ""


# Outcomes of mails already handed to the mail server that the database could not record yet
# (mail id → (outcome, note, attempt, key)), per process: recorded before anything else is sent,
# and before this worker gives its claims back (``flush_unrecorded``), so that a database error
# right after the hand-off never sends a mail again (red-team pass 15).
_UNRECORDED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # per database (ctx.db)
_UNRECORDED_LOCK = threading.Lock()


def _kept(ctx) -> dict[int, tuple[str, str, int, str]]:
    with _UNRECORDED_LOCK:
        return _UNRECORDED.setdefault(ctx.db, {})


def flush_unrecorded(ctx) -> bool:
    """Record the outcomes kept by a failed recording; True when none is left."""
    unrecorded = _kept(ctx)
    with _UNRECORDED_LOCK:
        kept = dict(unrecorded)
    if not kept:
        return True
    try:
        _record_all(ctx, [(mail_id, outcome, note) for mail_id, (outcome, note, _, _) in kept.items()],
                    {mail_id: attempt for mail_id, (_, _, attempt, _) in kept.items()})
    except Exception:  # still unavailable: kept, and nothing new is sent meanwhile
        log.warning("issues d'envoi de %s courriel(s) toujours non enregistrées (base indisponible ?)",
                    len(kept), exc_info=True)
        return False
    with _UNRECORDED_LOCK:
        for mail_id in kept:
            unrecorded.pop(mail_id, None)
    return True


# Outcomes still unrecorded when a worker stops (the database refused them to the end) go to a
# journal in the working directory (/var/lib/forumsync under systemd), one per database, read
# back before the next start frees the stopped worker's claims (red-team pass 17).
JOURNAL = "outbox-unrecorded-{db}.json"


def _journal_path(ctx) -> Path:
    """Beside a SQLite database file, else in the working directory."""
    url = str(ctx.db.url)
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    folder = Path(".")
    if url.startswith("sqlite:///") and url[len("sqlite:///"):] not in ("", ":memory:"):
        folder = Path(url[len("sqlite:///"):].split("?")[0]).parent
    return folder / JOURNAL.format(db=digest)


def save_unrecorded(ctx) -> int:
    """At a worker's stop: the outcomes still unrecorded, written to the journal (with each
    mail's key, checked when read back); returns how many."""
    if flush_unrecorded(ctx):
        return 0
    unrecorded = _kept(ctx)
    with _UNRECORDED_LOCK:
        kept = dict(unrecorded)
    path = _journal_path(ctx)
    entries = json.loads(path.read_text()) if path.exists() else []
    entries += [{"id": mail_id, "key": key, "outcome": outcome, "note": note, "attempt": attempt}
                for mail_id, (outcome, note, attempt, key) in kept.items()]
    path.write_text(json.dumps(entries))
    with _UNRECORDED_LOCK:
        for mail_id in kept:
            unrecorded.pop(mail_id, None)
    log.error("%s issue(s) d'envoi non enregistrée(s) à l'arrêt (base indisponible) : gardées dans %s, "
              "enregistrées au prochain démarrage", len(kept), path)
    return len(kept)


def recover_unrecorded(ctx) -> int:
    """At a worker's start, before it frees dead workers' claims: the journal's outcomes
    recorded, for the mails still "sending" under the same key; returns how many."""
    path = _journal_path(ctx)
    if not path.exists():
        return 0
    entries = json.loads(path.read_text())
    recorded = 0
    with ctx.db.session() as session:
        for entry in entries:
            row = session.get(OutboxMail, entry["id"])
            if row is not None and row.key == entry["key"] and row.state == OUTBOX.claimed:
                _record(session, entry["id"], entry["outcome"], entry["note"], entry["attempt"])
                recorded += 1
    path.unlink()
    log.info("%s issue(s) d'envoi du journal %s enregistrée(s)", recorded, path)
    return recorded


def _record_or_keep(ctx, outcomes, attempts: dict, keys: dict) -> None:
    """Record OUTCOMES now; if the database refuses, keep them (with each mail's ATTEMPT and
    KEY) for ``flush_unrecorded``."""
    try:
        _record_all(ctx, outcomes, attempts)
    except Exception:
        log.warning("issues d'envoi non enregistrées, gardées pour le prochain passage", exc_info=True)
        unrecorded = _kept(ctx)
        with _UNRECORDED_LOCK:
            for mail_id, outcome, note in outcomes:
                unrecorded[mail_id] = (outcome, note, attempts[mail_id], keys[mail_id])


def run_pending(ctx, worker_id: str) -> int:
    """Send what is due; returns how many mails were handled (sent or failed an attempt). A
    mail that was in hand when a worker died is sent alone, marked as started first, and set
    aside ("failed") once that happened INTERRUPTED_MAX times. Each mail's outcome is
    recorded right after its hand-off; one the database could not record is kept and recorded
    first next time, and until it is, nothing new is sent."""
    try:
        recover_unrecorded(ctx)  # a stopped worker's journal, before any claim
    except Exception:  # the database is still unavailable: nothing is sent meanwhile
        log.warning("journal des envois non enregistrés non relu (base indisponible ?)", exc_info=True)
        return 0
    if not flush_unrecorded(ctx):
        return 0
    claimed = OUTBOX.claim(ctx.db, worker_id, BATCH, columns=(
        OutboxMail.sender, OutboxMail.recipients, OutboxMail.raw, OutboxMail.key, OutboxMail.attempts,
        OutboxMail.interrupted))
    attempts = {row.id: row.attempts + 1 for row in claimed}
    keys = {row.id: row.key for row in claimed}

    def job(row):
        return row.id, row.sender or ctx.settings.BRIDGE_ADDRESS, list(row.recipients), row.raw, row.key

    def record(outcomes):
        _record_or_keep(ctx, outcomes, attempts, keys)

    fresh, alone, aside = OUTBOX.by_interruptions(claimed)
    for row in aside:
        log.warning("courriel %s : en main %s fois à l'arrêt d'un worker, mis de côté", row.id, row.interrupted)
        record([(row.id, "failed", INTERRUPTED_REASON.format(n=row.interrupted))])
    for row in alone:
        OUTBOX.mark_started(ctx.db, row.id)
        _send(ctx, [job(row)], record)
    if fresh:
        _send(ctx, [job(row) for row in fresh], record)
    return len(claimed)


def _send(ctx, jobs, record) -> None:
    """Hand JOBS to the mail server over one connection; RECORD each (mail id, outcome, note)
    as soon as it is known (a worker killed mid-batch resends the mail in hand, not the
    mails already handed over)."""
    connection = None
    checked: dict = {}  # forum facts shared by this batch's checks (categories)
    for index, (mail_id, sender, recipients, raw, key) in enumerate(jobs):
        withheld = _withheld(ctx, key, checked)
        if withheld is not None:
            record([(mail_id, *withheld)])
            continue
        try:
            raw, refreshed = _as_now(ctx, key, raw, checked)
        except OverBudget as exc:  # an edit made it too costly to render: never its old version
            record([(mail_id, "failed", OVER_BUDGET_REASON.format(seconds=exc.seconds))])
            continue
        if refreshed:
            _keep_as_sent(ctx, mail_id, raw)
        if connection is None:
            try:
                connection = smtp.connect(ctx.settings)
            except Exception as exc:  # server unreachable: the rest of the batch waits for next time
                error = f"{type(exc).__name__}: {exc}"
                record([(job[0], "retry", error) for job in jobs[index:]])
                return
        try:
            result = smtp.send(ctx.settings, sender, recipients, raw, connection=connection)
            note = f"refusés : {result.refused}" if result.refused else ""
            if refreshed:
                note = (note + " — " if note else "") + REFRESHED_NOTE
            record([(mail_id, "sent", note)])
        except smtp.PermanentFailure as exc:
            record([(mail_id, "failed", str(exc))])
        except Exception as exc:  # transient: network, 4xx, timeouts; retried with backoff
            record([(mail_id, "retry", f"{type(exc).__name__}: {exc}")])
            _close(connection)
            connection = None
    _close(connection, quit=True)


def _record_all(ctx, outcomes, attempts: dict) -> None:
    with ctx.db.session() as session:
        for mail_id, outcome, note in outcomes:
            _record(session, mail_id, outcome, note, attempts[mail_id])


def _record(session, mail_id: int, outcome: str, note: str, attempt: int) -> None:
    """How ATTEMPT at sending MAIL_ID ended: sent, dropped (withheld), failed, or due again later."""
    values = dict(attempts=attempt, last_error=note, next_attempt_at=None)
    if outcome == "sent":
        state, values["sent_at"] = "sent", utcnow()
    elif outcome == "withheld":
        state = "dropped"
        log.info("courriel %s non envoyé : %s", mail_id, note)
    elif outcome == "failed" or attempt >= MAX_ATTEMPTS:
        state = "failed"
        log.warning("courriel %s en échec définitif : %s", mail_id, note)
    else:
        state, values["next_attempt_at"] = "pending", utcnow() + backoff(attempt)
        log.info("courriel %s non remis (tentative %s) : %s", mail_id, attempt, note)
    OUTBOX.release(session, mail_id, state, **values)


FORUM_POST_KEYS = ("post:", "edit:")


def _withheld(ctx, key: str, checked: dict) -> tuple[str, str] | None:
    """None when the mail may go now; else (outcome, note): ``withheld`` for a forum post the
    forum no longer lets the list see, ``retry`` when the forum cannot be asked right now."""
    if not key.startswith(FORUM_POST_KEYS):
        return None
    original = None
    if key.startswith("edit:"):
        original = _original_state(ctx, key)
        if original == "dropped":  # the list will never see it: no « [modifié] » (25th, 26th passes;
            # checked here, when the notice leaves, not when the edit arrives: a drop may come between)
            return "withheld", "non envoyé : le courriel du message modifié a été écarté"
        if original not in (None, "sent"):  # a notice never goes before its message (a failed
            # one may still be retried by the operator: 27th pass)
            return "retry", "en attente : le courriel du message modifié n'est pas encore parti"
    from ..forum.live import recheck_facts
    from ..forum.gateway import ForumUnavailable

    try:
        allowed, reason, facts = recheck_facts(ctx, key, checked)
    except ForumUnavailable as exc:
        return "retry", f"forum indisponible pour la vérification avant envoi : {exc}"
    except Exception as exc:  # noqa: BLE001 - never send what could not be checked
        log.exception("vérification avant envoi de %s impossible", key)
        return "retry", f"vérification avant envoi impossible ({type(exc).__name__})"
    if allowed:
        if original == "sent" and _shown_already(ctx, key, facts):
            return "withheld", ALREADY_SHOWN_REASON
        checked[("facts", key)] = facts
        return None
    return "withheld", f"non envoyé, relu sur le forum juste avant l'envoi : {reason}"


ALREADY_SHOWN_REASON = ("non envoyé : le courriel du message est parti après cette modification, "
                        "dans la version que le forum montre maintenant")


def _shown_already(ctx, key: str, facts) -> bool:
    """Whether the mail of the post an ``edit:ID:V`` notice is about went out showing the post
    as the forum shows it now: a post edited while its mail waited (LIST_SEND_DELAY_SECONDS,
    600 s by default) reached the list in its edited version (``_as_now``), and the notice
    that followed told the list of a change it never saw (red team, 48th pass). A notice
    whose rendering goes over the budget is sent (the notice itself is short). Only a notice
    queued before its mail left: an edit made later (a title alone, say) keeps its notice."""
    from .compose import with_post_as_now, with_subject

    post_id = key.split(":")[1]
    with ctx.db.session() as session:
        sent = session.execute(select(OutboxMail.raw, OutboxMail.sent_at)
                               .where(OutboxMail.key == f"post:{post_id}")).first()
        queued = session.scalar(select(OutboxMail.created_at).where(OutboxMail.key == key))
    if sent is None or sent.sent_at is None or queued is None or queued > sent.sent_at or facts is None:
        return False
    raw = sent.raw
    try:
        with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):
            if with_post_as_now(ctx.settings, raw, facts.post.get("cooked") or "", _post_url(ctx, facts)) is not None:
                return False
    except OverBudget:
        return False
    return with_subject(raw, _subject_now(ctx, facts)) is None  # and the title as it is now


def _keep_as_sent(ctx, mail_id: int, raw: bytes) -> None:
    """Store RAW, the mail rebuilt at the hand-off, as the mail's own: the outbox shows what
    the list got (not a version the forum took back) and ``_shown_already`` compares with it.
    A database that refuses costs nothing but that (the notice may then go)."""
    try:
        with ctx.db.session() as session:
            session.execute(update(OutboxMail).where(OutboxMail.id == mail_id).values(raw=raw)
                            .execution_options(synchronize_session=False))
    except Exception:  # noqa: BLE001 - the hand-off goes on
        log.warning("courriel %s : version mise à jour non enregistrée", mail_id, exc_info=True)


OVER_BUDGET_REASON = ("non envoyé : le message, modifié depuis sa mise en file, demande plus de "
                      "{seconds:g} s de processeur pour être mis en forme (réglage "
                      "PIPELINE_MESSAGE_CPU_SECONDS) ; « forumsync outbox retry » le reprend")
REFRESHED_NOTE = "envoyé tel que le forum le montrait à l'envoi (modifié depuis sa mise en file)"


def _as_now(ctx, key: str, raw: bytes, checked: dict) -> tuple[bytes, bool]:
    """(RAW, False), or (RAW with the post's bodies as the forum cooks it now and the topic's
    title as it is now, True) when the post behind a ``post:ID`` mail, or its topic's title,
    was edited since the mail was queued (red team, 47th pass: a moderator's edit that took
    out a phone number did not reach the mail that waited; 51st pass: a title changed with
    it left with the old subject)."""
    facts = checked.pop(("facts", key), None)
    if not key.startswith("post:") or facts is None:
        return raw, False
    from .compose import with_post_as_now, with_subject

    with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):  # as when the event made it
        fresh = with_post_as_now(ctx.settings, raw, facts.post.get("cooked") or "", _post_url(ctx, facts))
    retitled = with_subject(fresh or raw, _subject_now(ctx, facts))
    fresh = retitled or fresh
    return (raw, False) if fresh is None else (fresh, True)


def _subject_now(ctx, facts) -> str:
    """The Subject ``event_handlers.post_created`` would give the post's mail now: the topic's
    title as the forum shows it (``list_title``), the thread's list tag, « Re: » for a reply
    ("" when the forum gave no title: the queued subject stays)."""
    from ..forum.event_handlers import list_title
    from .compose import list_subject

    post, topic = facts.post, facts.topic
    title = list_title(ctx.settings, topic, post)
    if not title:
        return ""
    with ctx.db.session() as session:
        link = session.get(TopicLink, topic.get("id") or post.get("topic_id"))
        tag = link.list_tag if link is not None else None
    return list_subject(title, tag, (post.get("post_number") or 1) > 1)


def _post_url(ctx, facts) -> str:
    """The page of the post the FACTS were read for (the footers' « Répondre sur … »)."""
    from .compose import topic_url

    post, topic = facts.post, facts.topic
    return topic_url(ctx.settings, topic.get("id") or post.get("topic_id"),
                     topic.get("slug") or post.get("topic_slug"), post.get("post_number") or 1)


def _original_state(ctx, key: str) -> str | None:
    """The state of the mail of the post an ``edit:ID:V`` notice is about (None: none stored)."""
    post_id = key.split(":")[1]
    with ctx.db.session() as session:
        return session.scalar(select(OutboxMail.state).where(OutboxMail.key == f"post:{post_id}"))


def _close(connection, quit: bool = False) -> None:
    if connection is None:
        return
    try:
        connection.quit() if quit else connection.close()
    except Exception:
        connection.close()


def drop(session, mail_id: int, reason: str) -> bool:
    """Give up on a mail that was not sent (state ``dropped``, REASON appended to its error)."""
    row = session.get(OutboxMail, mail_id)
    if row is None or row.state not in ("pending", "failed"):
        return False
    row.state = "dropped"
    row.next_attempt_at = None
    row.last_error = (row.last_error + " — " if row.last_error else "") + reason
    return True


def retry(session, mail_id: int | None = None) -> int:
    """Make failed/pending mails due now (one by id, or all when ``mail_id`` is None)."""
    query = select(OutboxMail).where(OutboxMail.state.in_(("pending", "failed")))
    if mail_id is not None:
        query = query.where(OutboxMail.id == mail_id)
    count = 0
    for row in session.scalars(query):
        row.state = "pending"
        row.next_attempt_at = None
        row.interrupted = 0
        if row.attempts >= MAX_ATTEMPTS:
            row.attempts = 0
        count += 1
    return count
