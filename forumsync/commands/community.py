"""`forumsync community subscribers|directory|releases`: run the community jobs by hand."""
from __future__ import annotations

import click

from ..click_french import SUBCOMMAND_METAVAR

from .terminal import say



@click.group("community", subcommand_metavar=SUBCOMMAND_METAVAR)
def community_group():
    """Vie du club : accueil des nouveaux abonnés, annuaire des collectivités, notes de version."""


@community_group.command("subscribers")
@click.option("--dry-run", is_flag=True, help="Montrer les changements sans rien enregistrer ni publier.")
@click.pass_obj
def subscribers_command(obj, dry_run):
    """Lit les sources d'abonnés (Mailman 3, CSV) et accueille les nouveaux venus."""
    from ..community import rosters, subscribers, welcome

    ctx = obj.context
    if not ctx.settings.SUBSCRIBER_SOURCES:
        raise click.ClickException("aucune source d'abonnés (réglage SUBSCRIBER_SOURCES)")
    for source in ctx.settings.SUBSCRIBER_SOURCES:
        try:
            diff = subscribers.sync_source(ctx, source, dry_run=dry_run)
        except rosters.SourceError as exc:
            raise click.ClickException(str(exc)) from None
        if diff.baseline:
            say(f"{diff.source} : première lecture, {diff.after} abonnés enregistrés "
                       "(personne n'est accueilli pour cet état initial).")
        else:
            say(f"{diff.source} : {len(diff.added)} nouveaux, {len(diff.removed)} départs, "
                       f"{len(diff.returned)} retours ; {diff.before} → {diff.after} abonnés.")
            for email in diff.added:
                say(f"  + {email}")
    if dry_run:
        say("Simulation : rien n'a été enregistré.")
        return
    welcomed = welcome.welcome_pending(ctx)
    say(f"{welcomed} nouvel(s) abonné(s) accueilli(s) (sujet « Présentations » et courriel).")


@community_group.command("directory")
@click.option("--dry-run", is_flag=True, help="Montrer les changements sans rien écrire sur le forum.")
@click.pass_obj
def directory_command(obj, dry_run):
    """Met l'annuaire des collectivités et le recensement des logiciels à jour sur le forum."""
    from ..community.directory import sync_directory

    report = sync_directory(obj.context, dry_run=dry_run)
    for label, items in (("créées", report.created), ("modifiées", report.updated),
                         ("fermées", report.closed), ("rouvertes", report.reopened)):
        say(f"Fiches {label} : {len(items)}")
        for item in items:
            say(f"  - {item}")
    say(f"Fiches inchangées : {len(report.unchanged)}")
    if dry_run:
        say("Simulation : rien n'a été écrit sur le forum.")


@community_group.command("releases")
@click.option("--dry-run", is_flag=True, help="Lire les flux sans rien publier.")
@click.pass_obj
def releases_command(obj, dry_run):
    """Lit les flux de notes de version et publie les nouvelles dans « Évolutions »."""
    from ..community import feeds, releases

    ctx = obj.context
    if not ctx.settings.RELEASE_FEEDS:
        raise click.ClickException("aucun flux de notes de version (réglage RELEASE_FEEDS)")
    for feed in ctx.settings.RELEASE_FEEDS:
        try:
            report = releases.poll_feed(ctx, feed, dry_run=dry_run)
        except feeds.FeedError as exc:
            say(f"{releases.feed_name(feed)} : {exc}", err=True)
            continue
        say(f"{report.feed} : {len(report.new)} nouvelle(s) version(s), {report.known} déjà publiée(s)"
                   + (f", {report.announced} annoncée(s) sur la liste" if report.announced else "") + ".")
        for title in report.new:
            say(f"  + {title}")
    if dry_run:
        say("Simulation : rien n'a été publié.")


COMMANDS = [community_group]
