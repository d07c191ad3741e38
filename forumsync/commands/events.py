"""`forumsync events list|retry`: see the forum's webhook events and handle failed ones again."""
from __future__ import annotations

import click

from ..click_french import SUBCOMMAND_METAVAR
from sqlalchemy import select

from ..models import WebhookEvent
from .clock import local_time
from .terminal import say

STATE_LABELS = {"new": "à traiter", "processing": "en cours", "retry": "à réessayer",
                "done": "traité", "skipped": "sans effet", "failed": "en échec"}


@click.group("events", subcommand_metavar=SUBCOMMAND_METAVAR)
def events_group():
    """Événements reçus du forum (webhooks) : messages à relayer vers la liste."""


@events_group.command("list")
@click.option("--state", type=click.Choice(sorted(STATE_LABELS)), default=None,
              help="N'afficher que les événements dans cet état.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Nombre maximal de lignes.")
@click.pass_obj
def list_command(obj, state, limit):
    """Liste les événements reçus du forum, les plus récents d'abord."""
    with obj.stored_context().db.session() as session:
        query = select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(limit)
        if state:
            query = query.where(WebhookEvent.state == state)
        rows = list(session.scalars(query))
        if not rows:
            say("Aucun événement" + (f" {STATE_LABELS[state]}" if state else "") + ".")
            return
        for row in rows:
            say(f"{row.id:>6}  {STATE_LABELS.get(row.state, row.state):<12} "
                       f"tentatives={row.attempts:<3} {row.event}  reçu le {local_time(row.received_at, '%Y-%m-%d %H:%M:%S')}")
            if row.reason:
                say(f"        {row.reason[:300]}")


@events_group.command("retry")
@click.argument("event_id", metavar="[NUMÉRO]", type=int, required=False)
@click.option("--all-failed", "all_failed", is_flag=True, help="Reprendre tous les événements en échec.")
@click.pass_obj
def retry_command(obj, event_id, all_failed):
    """Reprend un événement en échec (par son numéro) ou tous (--all-failed) au prochain
    passage du worker ; un message déjà envoyé à la liste ne l'est pas deux fois."""
    from ..forum.events import retry

    if (event_id is None) == (not all_failed):
        raise click.ClickException("indiquez un numéro d'événement ou --all-failed (mais pas les deux)")
    with obj.context.db.session() as session:
        if event_id is not None:
            row = session.get(WebhookEvent, event_id)
            if row is None:
                raise click.ClickException(f"événement n° {event_id} introuvable")
            if row.state != "failed":
                raise click.ClickException(
                    f"événement n° {event_id} {STATE_LABELS.get(row.state, row.state)} : rien à reprendre")
        count = retry(session, event_id)
    say(f"{count} événement(s) remis en file.")


COMMANDS = [events_group]
