"""`forumsync demo`: the whole product on loopback with SQLite, no outside service."""
import threading
from pathlib import Path

import click


@click.command("demo")
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("var/demo"), show_default=True,
              help="Dossier des données de la démo (bases SQLite, Maildir).")
@click.option("--reset", is_flag=True, help="Repartir d'une démo vide.")
@click.pass_obj
def demo(obj, workdir, reset):
    """Lance la démo : forum local, forumsync, liste et catalogue d'exemple."""
    import shutil

    from ..demo.run import Demo, DemoError, demo_settings, wait_for_interrupt

    workdir = workdir.resolve()
    if reset and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(obj.settings, workdir)
    runner = Demo(settings, workdir, echo=click.echo)
    stop = threading.Event()
    try:
        click.echo("Démarrage du forum local, de forumsync, du LMTP et du puits SMTP…")
        runner.start()
        runner.seed()
        runner.start_worker()
        click.echo(runner.describe())
        wait_for_interrupt(stop)
        click.echo("Arrêt de la démo…")
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        runner.stop()
    click.echo("Démo arrêtée.")


COMMANDS = [demo]
