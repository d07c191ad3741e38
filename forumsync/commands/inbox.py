"""`forumsync inbox list|show|retry|drop`: let an operator see the inbox and act on it."""
from __future__ import annotations

import click

from ..click_french import SUBCOMMAND_METAVAR

from ..models.inbox import INBOX_STATES, claimed_message_id
from .clock import local_time
from .terminal import printable, say, write_raw

STATE_FR = {"new": "nouveau", "processing": "en cours", "retry": "à réessayer", "published": "publié",
            "dropped": "écarté", "quarantined": "en quarantaine"}


def _short(text: str, width: int) -> str:
    text = printable(" ".join((text or "").split()))  # escapes counted in the column's width
    return text if len(text) <= width else text[:width - 1] + "…"


def _when(moment) -> str:
    return local_time(moment)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns aligned on their widest cell (the last column is left ragged)."""
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    lines = []
    for row in [headers] + rows:
        cells = [str(c).ljust(w) if i < len(row) - 1 else str(c) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _get(session, inbox_id: int):
    from ..models import InboxMessage

    row = session.get(InboxMessage, inbox_id)
    if row is None:
        raise click.ClickException(f"aucun message n° {inbox_id} dans la boîte de réception")
    return row


@click.group("inbox", subcommand_metavar=SUBCOMMAND_METAVAR)
def inbox():
    """Boîte de réception : messages reçus de la liste et leur état de traitement."""


@inbox.command("list")
@click.option("--state", type=click.Choice(INBOX_STATES), help="Seulement cet état.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1), help="Nombre de lignes.")
@click.pass_obj
def list_(obj, state, limit):
    """Liste les messages, du plus récent au plus ancien."""
    from sqlalchemy import func, select

    from ..models import InboxMessage

    ctx = obj.stored_context()
    with ctx.db.session() as session:
        query = select(InboxMessage.id, InboxMessage.received_at, InboxMessage.channel, InboxMessage.state,
                       InboxMessage.attempts, InboxMessage.sender, InboxMessage.subject, InboxMessage.reason)
        count = select(func.count(InboxMessage.id))
        if state:
            query, count = query.where(InboxMessage.state == state), count.where(InboxMessage.state == state)
        rows = session.execute(query.order_by(InboxMessage.id.desc()).limit(limit)).all()
        total = session.scalar(count)
        by_state = dict(session.execute(select(InboxMessage.state, func.count(InboxMessage.id))
                                        .group_by(InboxMessage.state)).all())
    if not rows:
        say("Aucun message" + (f" dans l'état « {STATE_FR[state]} »." if state else "."))
        return
    body = [[str(r.id), _when(r.received_at), r.channel, STATE_FR.get(r.state, r.state), str(r.attempts),
             _short(r.sender, 30), _short(r.subject, 50) + (f" — {_short(r.reason, 60)}" if r.reason else "")]
            for r in rows]
    say(table(["N°", "Reçu le", "Canal", "État", "Essais", "Expéditeur", "Sujet — raison"], body))
    summary = ", ".join(f"{STATE_FR.get(s, s)} : {n}" for s, n in sorted(by_state.items()))
    say(f"\n{len(rows)} affiché(s) sur {total}. Par état : {summary}.")


@inbox.command("show")
@click.argument("inbox_id", metavar="NUMÉRO", type=int)
@click.option("--raw", is_flag=True, help="Afficher le message brut tel que reçu.")
@click.pass_obj
def show(obj, inbox_id, raw):
    """Affiche un message : en-têtes principaux, état, raison, essais."""
    from ..inbound.ingest import parse_headers
    from ..mail.headers import header_str

    ctx = obj.stored_context()
    with ctx.db.session() as session:
        row = _get(session, inbox_id)
    if raw:
        write_raw(row.raw)
        return
    try:
        headers = parse_headers(row.raw)
    except Exception:  # stored long ago under other limits: show what we have
        headers = {}
    fields = [("N°", str(row.id)), ("Message-ID", row.message_id), ("Canal", row.channel),
              ("Reçu le", _when(row.received_at)), ("Taille", f"{row.size} octets")]
    for name, label in (("From", "De"), ("To", "À"), ("Cc", "Cc"), ("Date", "Date"), ("Subject", "Sujet"),
                        ("In-Reply-To", "En réponse à")):
        if headers and headers.get(name) is not None:  # read as the pipeline reads it (8-bit UTF-8 too)
            fields.append((label, header_str(headers, name)))
    fields += [("État", STATE_FR.get(row.state, row.state)), ("Raison", row.reason or "—"),
               ("Essais", str(row.attempts)), ("Prochain essai", _when(row.next_attempt_at)),
               ("Traité le", _when(row.processed_at))]
    if row.topic_id:
        fields.append(("Sujet du forum", f"{row.topic_id} (message {row.post_id})"))
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        say(f"{label.ljust(width)} : {value}")
    for line in routing_lines(ctx, row):
        say(line)


def routing_lines(ctx, row) -> list[str]:
    """The theme this message gets with today's settings, every theme's score and why: the
    operator sees why a topic landed in a theme (computed again: it is a pure function)."""
    from sqlalchemy import select

    from ..mail import parse_bytes
    from ..models import PostLink
    from ..pipeline import parse, trim
    from ..pipeline.budget import cpu_budget
    from ..pipeline.route import routing_of

    lines = ["", "Thème (recalculé avec les réglages actuels) :"]
    try:  # with the pipeline's CPU budget: the operator's command must not hang on hostile mail
        with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):
            msg = parse_bytes(row.raw)
            msgdata = {"message_id": row.message_id, "received_at": row.received_at}
            parse.process(ctx, msg, msgdata)
            trim.process(ctx, msg, msgdata)
            routing = routing_of(ctx.settings, msgdata)
    except Exception as exc:  # a message the pipeline could not read either: say so, go on
        return lines + [f"  non calculable : {exc}"]
    lines.append(f"  thème retenu : {routing.slug or '—'} — {routing.reason}")
    lines.append(f"  seuil des mots-clés du seul message (THEME_BODY_MIN_SCORE) : "
                 f"{ctx.settings.THEME_BODY_MIN_SCORE}")
    if routing.scores:
        lines.append("  scores :")
        lines += [f"    {score.describe()}" for score in routing.scores]
    else:
        lines.append("  scores : aucun thème n'a de point (ni adresse, ni étiquette, ni mot-clé)")
    if row.topic_id:
        with ctx.db.session() as session:
            number = session.scalar(select(PostLink.post_number).where(
                PostLink.message_id == claimed_message_id(row.message_id, row.meta)))
        if number not in (None, 1):
            lines.append(f"  (publié en réponse dans le sujet {row.topic_id} : une réponse suit le thème "
                         f"de son sujet, ce calcul ne s'y applique pas)")
    return lines


@inbox.command("retry")
@click.argument("inbox_id", metavar="[NUMÉRO]", type=int, required=False)
@click.option("--all-quarantined", is_flag=True, help="Tous les messages en quarantaine.")
@click.pass_obj
def retry(obj, inbox_id, all_quarantined):
    """Remet un message (ou toute la quarantaine) à l'état « nouveau » pour un nouveau traitement."""
    from ..inbound import operations
    from ..queues import wake

    if (inbox_id is None) == (not all_quarantined):
        raise click.UsageError("indiquez un numéro de message ou --all-quarantined (l'un ou l'autre)")
    ctx = obj.context
    with ctx.db.session() as session:
        if all_quarantined:
            count = operations.retry_quarantined(session)
            if not count:  # nothing for the worker: « va le traiter » would promise work
                say("Aucun message en quarantaine : rien à remettre en traitement.")
                return
            message = f"{count} message(s) sorti(s) de quarantaine, remis à l'état « nouveau »."
        else:
            row = _get(session, inbox_id)
            _refuse_frozen(row, "il ne peut pas être retraité")
            if row.state != "new" and not operations.retry(session, inbox_id):
                raise click.ClickException(
                    f"message n° {inbox_id} : une autre copie du même Message-ID peut encore être "
                    "publiée (ou l'est) ; une copie retenue est traitée si celle-ci finit non publiée "
                    "(écartez celle-ci si c'est elle la fausse : forumsync inbox drop).")
            message = f"Message n° {inbox_id} remis à l'état « nouveau »."
    wake(ctx)
    them = "les" if all_quarantined and count > 1 else "le"
    say(message + f" Le processus « forumsync worker » va {them} traiter.")


@inbox.command("drop")
@click.argument("inbox_id", metavar="NUMÉRO", type=int)
@click.option("--reason", default="", help="Précision ajoutée à la raison.")
@click.pass_obj
def drop(obj, inbox_id, reason):
    """Abandonne un message : il ne sera pas publié."""
    from ..inbound import operations

    ctx = obj.context
    with ctx.db.session() as session:
        row = _get(session, inbox_id)
        if not operations.abandoned(row):  # (a worker that died on it: it may be dropped)
            _refuse_frozen(row, "il ne peut plus être abandonné")
        attempted = operations.may_be_on_the_forum(row)
        if operations.drop(session, inbox_id, reason):
            say(f"Message n° {inbox_id} abandonné ({row.reason}).")
            notice = operations.held_after_drop(session, inbox_id, attempted, "« forumsync inbox retry N » pour")
            if notice:
                say(notice)
        else:
            say(f"Message n° {inbox_id} déjà abandonné ({row.reason}).")


def _refuse_frozen(row, why: str) -> None:
    """A message being processed or already published is left alone (``operations.FROZEN``)."""
    from ..inbound.operations import FROZEN

    if row.state in FROZEN:
        held = ""
        if row.state == "processing":  # a live worker has it: it may be dropped once that ends
            from ..queues import INBOX, holder_here

            if holder_here(row.locked_by):
                held = f" ; un worker en vie l'a en main ({row.locked_by}) : s'il s'arrête, il pourra l'être"
            else:
                until = (row.locked_at + INBOX.stale_after).astimezone().strftime("%H:%M")
                held = (f" ; un worker en vie l'a en main ({row.locked_by}) : si le message reste "
                        f"bloqué après {until}, il pourra l'être")
        raise click.ClickException(f"le message n° {row.id} est « {STATE_FR[row.state]} » : {why}{held}")


COMMANDS = [inbox]
