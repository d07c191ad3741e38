"""`forumsync outbox list|retry`: see what waits to be sent, and push failed mail again."""
from __future__ import annotations

import click

from ..click_french import SUBCOMMAND_METAVAR
from sqlalchemy import select

from ..models import OutboxMail
from ..models.outbox import OUTBOX_STATES
from .clock import local_time
from .terminal import say

STATE_LABELS = {"pending": "en attente", "sending": "en cours d'envoi", "sent": "envoyé",
                "failed": "en échec", "dropped": "écarté"}


@click.group("outbox", subcommand_metavar=SUBCOMMAND_METAVAR)
def outbox_group():
    """File d'envoi des courriels (forum → liste, courriels personnels)."""


@outbox_group.command("list")
@click.option("--state", type=click.Choice(OUTBOX_STATES), default=None,
              help="N'afficher que les courriels dans cet état.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Nombre maximal de lignes.")
@click.pass_obj
def list_command(obj, state, limit):
    """Liste les courriels de la file d'envoi, les plus récents d'abord."""
    ctx = obj.stored_context()
    with ctx.db.session() as session:
        query = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)
        if state:
            query = query.where(OutboxMail.state == state)
        rows = list(session.scalars(query))
        if not rows:
            say("Aucun courriel" + (f" {STATE_LABELS[state]}" if state else "") + ".")
            return
        for row in rows:
            when = local_time(row.next_attempt_at, "%Y-%m-%d %H:%M:%S", missing="-")
            say(f"{row.id:>6}  {STATE_LABELS.get(row.state, row.state):<16} "
                       f"tentatives={row.attempts:<3} prochaine={when:<19} {row.key}  "
                       f"« {row.subject[:60]} »")
            if row.last_error:
                say(f"        dernière erreur : {row.last_error[:300]}")


@outbox_group.command("retry")
@click.argument("mail_id", metavar="[NUMÉRO]", type=int, required=False)
@click.option("--all", "all_", is_flag=True, help="Relancer tous les courriels en attente ou en échec.")
@click.pass_obj
def retry_command(obj, mail_id, all_):
    """Relance un courriel (par son numéro) ou tous (--all) dès le prochain passage du worker."""
    from ..outbound.outbox import retry

    if (mail_id is None) == (not all_):
        raise click.ClickException("indiquez un numéro de courriel ou --all (mais pas les deux)")
    ctx = obj.context
    with ctx.db.session() as session:
        if mail_id is not None:
            row = session.get(OutboxMail, mail_id)
            if row is None:
                raise click.ClickException(f"courriel n° {mail_id} introuvable")
            if row.state not in ("pending", "failed"):
                raise click.ClickException(
                    f"courriel n° {mail_id} {STATE_LABELS.get(row.state, row.state)} : rien à relancer")
        count = retry(session, mail_id)
    say(f"{count} courriel(s) remis en file d'envoi.")


COMMANDS = [outbox_group]
