"""`forumsync provision`: make the forum match the themes of the settings."""
from __future__ import annotations

import click

from ..forum.errors import access_hint
from ..forum.gateway import ForumError
from .progress import TerminalProgress
from .terminal import say

PROGRESS_LABELS = {"changes": ("Provisionnement", "modification")}


@click.command("provision")
@click.option("--dry-run", is_flag=True, help="Affiche les modifications sans rien écrire sur le forum.")
@click.option("--repair", is_flag=True,
              help="Répare aussi les dérives (catégories supprimées ou modifiées à la main sur le forum).")
@click.option("--no-progress", is_flag=True, help="Sans barre de progression.")
@click.pass_obj
def provision_command(obj, dry_run, repair, no_progress):
    """Crée ou met à jour catégories de thèmes, groupes d'animateurs et modération."""
    from ..themes.provision import provision

    ctx = obj.context
    try:
        with TerminalProgress(PROGRESS_LABELS, terminal_only=True) as bar:
            result = provision(ctx, dry_run=dry_run, repair=repair,
                               progress=None if no_progress else bar)
    except ForumError as exc:
        raise click.ClickException(f"le forum a refusé ou n'a pas répondu : {exc}{access_hint(exc)}") from None
    for line in result.report():
        say(line)
    if not dry_run:
        writes = ctx.forum.stats.get("writes", 0)
        say(f"{len(result.applied)} modification(s) appliquée(s), "
                   f"{writes} appel(s) d'écriture au forum.")
    if result.pending_drift and dry_run and repair:  # the essay of a repair: nothing to ask
        say(f"{len(result.pending_drift)} dérive(s) à réparer : « forumsync provision --repair » "
            f"(sans --dry-run) les répare.")
    elif result.pending_drift:
        say(f"{len(result.pending_drift)} dérive(s) non réparée(s) : "
                   f"relancer avec « forumsync provision --repair ».")


COMMANDS = [provision_command]
