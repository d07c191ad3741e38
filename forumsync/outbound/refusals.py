"""Refusal mails without backscatter: who may get one, what it says, how often.

A refusal (a forged or expired reply address…) answers the *sender* of a mail, and the
sender is a claim: answering any From would let anyone make forumsync mail a third party
(backscatter). So a refusal is sent only
- to an **authenticated** sender (the list MTA's verdict for that address is ``pass``,
  ``forumsync.mail.authresults``) or to a **list member** (a ``Subscriber`` still subscribed)
  whose mail did not *fail* authentication (else the member would be the victim);
- with **nothing of the message** in it: no subject, no link, no quoted text, no
  ``In-Reply-To`` (its Message-ID is attacker-written too), only our fixed French sentence
  and the forum's address;
- **at most once per sender and hour** (``RefusalLog``, in the database, so a restart or a
  second worker does not reset it). ``REFUSAL_INTERVAL`` is that hour.

``send_refusal`` returns a French note saying what happened, for the inbox row's reason.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..mail.addresses import header_addresses
from ..mail.authresults import FAIL, PASS, verdict
from ..models import utcnow
from ..models.refusal_log import RefusalLog
from ..models.subscriber import Subscriber
from . import compose, outbox

REFUSAL_INTERVAL = timedelta(hours=1)


def may_answer(ctx, msg, sender: str) -> tuple[bool, str]:
    """(True, why) when SENDER is authenticated or a list member; (False, why not)."""
    sender = (sender or "").strip().lower()
    if not sender or "@" not in sender:
        return False, "expéditeur sans adresse"
    from_addresses = [a for _, a in header_addresses(msg, "From") if a]
    check = verdict(msg, ctx.settings.AUTHSERV_ID, sender,
                    from_header_domain=from_addresses[0].rpartition("@")[2] if from_addresses else None)
    if check.status == FAIL:
        return False, f"authentification en échec : {check.reason}"
    if check.status == PASS and len(set(from_addresses)) <= 1:
        return True, "expéditeur authentifié"
    with ctx.db.session() as session:
        member = session.scalar(select(Subscriber.id).where(
            Subscriber.email == sender, Subscriber.state == "subscribed").limit(1))
    if member is not None:
        return True, "abonné de la liste"
    return False, "expéditeur ni authentifié ni abonné"


def refusal_text(settings, reason: str) -> str:
    return (f"Bonjour,\n\n"
            f"Un message envoyé depuis votre adresse n'a pas été publié sur {settings.FORUM_NAME} : "
            f"{reason}.\n\n"
            f"Rien n'a été publié. Vous pouvez répondre directement sur le forum : "
            f"{settings.FORUM_URL}\n\n"
            f"-- \nforumsync, passerelle de la liste {settings.LIST_NAME}")


def send_refusal(ctx, msg, sender: str, reason: str, key: str) -> str:
    """Queue the refusal when allowed; the French outcome for the inbox row."""
    sender = (sender or "").strip().lower()
    allowed, why = may_answer(ctx, msg, sender)
    if not allowed:
        return f"aucune réponse envoyée ({why})"
    settings = ctx.settings
    message = compose.compose_personal(
        settings, to=sender, subject=f"Message non publié sur {settings.FORUM_NAME}",
        text=refusal_text(settings, reason), link=settings.FORUM_URL, auto_submitted=True)
    with ctx.db.session() as session:
        if not _claim(session, sender):
            return "aucune réponse envoyée (une réponse est déjà partie vers cette adresse dans l'heure)"
        outbox.enqueue(session, key, message, [sender], sender=settings.BRIDGE_ADDRESS)
    from ..queues import wake

    wake()
    return f"réponse envoyée à l'expéditeur ({why})"


_log = RefusalLog.__table__


def _claim(session, sender: str) -> bool:
    """True (and the hour starts now) when no refusal went to SENDER in the last hour."""
    now = utcnow()
    moved = session.execute(update(_log).where(_log.c.sender == sender,
                                               _log.c.last_sent_at <= now - REFUSAL_INTERVAL)
                            .values(last_sent_at=now, suppressed=0))
    if moved.rowcount:
        return True
    try:
        with session.begin_nested():
            session.execute(insert(_log).values(sender=sender, last_sent_at=now, suppressed=0))
        return True
    except IntegrityError:
        session.execute(update(_log).where(_log.c.sender == sender)
                        .values(suppressed=_log.c.suppressed + 1))
        return False
