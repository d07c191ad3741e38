"""`forumsync doctor`: the dashboard's health checks, in a terminal (for cron and operators)."""
import click


@click.command("doctor")
@click.pass_obj
def doctor(obj):
    """Vérifie réglages, base, forum, LMTP, SMTP, webhooks et worker ; code 1 si une panne."""
    from ..web.health import run_checks

    ctx = obj.context
    failed = False
    marks = {True: "OK     ", False: "EN PANNE", None: "?      "}
    for check in run_checks(ctx):
        click.echo(f"{marks[check.ok]} {check.label} : {check.detail}")
        failed = failed or check.ok is False
    if failed:
        raise click.exceptions.Exit(1)


COMMANDS = [doctor]
