"""`forumsync catalogue sync|list`: publish the démarches catalogue into the forum."""
from __future__ import annotations

import click

from ..click_french import SUBCOMMAND_METAVAR
from sqlalchemy import select

from .progress import TerminalProgress
from .clock import local_time
from .terminal import say

PROGRESS_LABELS = {"sources": ("Lecture des sources", "source"), "groups": ("Catalogue", "démarche")}


@click.group("catalogue", subcommand_metavar=SUBCOMMAND_METAVAR)
def catalogue():
    """Catalogue des démarches : publication des formulaires w.c.s. des collectivités."""


@catalogue.command("sync")
@click.option("--source", "source", metavar="NOM", help="Ne lire que cette source (CATALOGUE_SOURCES).")
@click.option("--dry-run", is_flag=True, help="Montrer ce qui changerait, sans rien écrire.")
@click.option("--no-progress", is_flag=True, help="Sans barre de progression.")
@click.pass_obj
def sync_command(obj, source, dry_run, no_progress):
    """Synchronise le catalogue des démarches avec le forum."""
    from forumsync.catalogue.sync import CatalogueError, sync_catalogue
    from forumsync.forum.gateway import ForumError

    ctx = obj.context
    if not ctx.settings.CATALOGUE_SOURCES:
        raise click.ClickException("aucune source de catalogue configurée (CATALOGUE_SOURCES)")
    try:
        with TerminalProgress(PROGRESS_LABELS, terminal_only=True) as bars:
            summary = sync_catalogue(ctx, source=source, dry_run=dry_run,
                                     progress=None if no_progress else bars)
    except CatalogueError as exc:
        raise click.ClickException(str(exc)) from None
    except ForumError as exc:
        raise click.ClickException(f"forum indisponible : {exc}") from None
    labels = {"added": "ajoutée", "updated": "mise à jour", "retired": "retirée"}
    for change in summary.changes:
        line = f"  {labels.get(change.action, change.action)} : {change.title} [{change.external_id}]"
        if change.action != "added" and change.reason:
            line += f" — {change.reason}"
        say(line)
    for error in summary.errors:
        say(f"  erreur : {error}", err=True)
    say(summary.french())
    if summary.errors:
        raise SystemExit(1)


@catalogue.command("list")
@click.pass_obj
def list_command(obj):
    """Liste les démarches publiées (sujet, collectivités, état)."""
    from forumsync.models.catalogue_topic import CatalogueTopic
    from forumsync.models.catalogue_variant import CatalogueVariant

    ctx = obj.context
    with ctx.db.session() as session:
        topics = list(session.scalars(select(CatalogueTopic).order_by(CatalogueTopic.title)))
        variants: dict[str, list] = {}
        for v in session.scalars(select(CatalogueVariant).order_by(CatalogueVariant.collectivity)):
            variants.setdefault(v.external_id, []).append(v)
        if not topics:
            say("Aucune démarche publiée. Lancez « forumsync catalogue sync ».")
            return
        for t in topics:
            state = "fermée" if t.closed else "ouverte"
            who = ", ".join(v.collectivity + (" (retirée)" if v.retired_on else "")
                            for v in variants.get(t.external_id, []))
            say(f"{t.external_id}\tsujet {t.topic_id}\t{state}\t{t.title}\t{who}")
        say(f"{len(topics)} démarche(s).")
    from forumsync.catalogue.sync import last_run

    state = last_run(ctx)
    if state and state.get("summary"):
        say(f"Dernière synchronisation automatique ({local_time(state.get('at'), missing='?')}) : "
                   f"{state['summary']}")


COMMANDS = [catalogue]
