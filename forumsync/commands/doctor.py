"""`forumsync doctor`: the gateway's health and the forum's configuration, each problem with
its fix, in a terminal (for operators after an install, and for cron)."""
import click

from .terminal import say


MARKS = {True: "OK      ", False: "EN PANNE", None: "À VOIR  "}


@click.command("doctor")
@click.pass_obj
def doctor(obj):
    """Vérifie forum (clé d'API, greffon, webhook, réglages, thèmes), LMTP, SMTP, webhooks et
    worker ; chaque problème avec sa solution ; code 1 si une panne."""
    from ..web.health import doctor_checks

    from ..db import DatabaseUnavailable

    ctx = obj.context
    say(f"Réglages : {ctx.settings.source}")
    try:
        ctx.db  # noqa: B018 - the other checks read the queues
    except DatabaseUnavailable as exc:
        say(f"{MARKS[False]} base de données : inaccessible ({exc})")
        say("         → vérifiez DATABASE_URL et que le serveur de base de données tourne")
        say("Bilan : la base de données est en panne ; les autres vérifications en dépendent.")
        raise click.exceptions.Exit(1)
    checks = doctor_checks(ctx)
    for check in checks:
        say(f"{MARKS[check.ok]} {check.label} : {check.detail}")
        if check.fix and check.ok is not True:
            say(f"         → {check.fix}")
    failed = sum(1 for c in checks if c.ok is False)
    unknown = sum(1 for c in checks if c.ok is None)
    say(f"Bilan : {len(checks) - failed - unknown} vérification(s) correcte(s), "
               f"{failed} en panne, {unknown} à voir.")
    if failed:
        raise click.exceptions.Exit(1)


COMMANDS = [doctor]
