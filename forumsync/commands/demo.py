"""`forumsync demo`: the whole product on loopback with SQLite, no outside service."""
import threading
import time
from pathlib import Path

import click

from .terminal import say



@click.command("demo")
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("var/demo"), show_default=True,
              help="Dossier des données de la démo (bases SQLite, Maildir, réglages).")
@click.option("--ports", metavar="FORUM,WEB,LMTP,SMTP|+N",
              help="Ports de la démo (défaut 4200,5000,8024,8025) ; « +100 » les décale tous.")
@click.option("--reset", is_flag=True, help="Repartir d'une démo vide.")
@click.pass_obj
def demo(obj, workdir, ports, reset):
    """Lance la démo : forum local, forumsync, liste et catalogue d'exemple.

    Les réglages de la démo sont écrits dans DIR/settings.py : « forumsync --settings
    DIR/settings.py themes » (ou inbox list, doctor…) travaille sur les bases de la démo."""
    import shutil

    from ..demo.config import DemoError, demo_settings, parse_ports, with_ports, write_settings_file
    from ..demo.run import Demo
    from ..demo.stopping import stop_on_signals

    workdir = workdir.resolve()
    if reset and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        settings = demo_settings(obj.settings, workdir)
        if ports:
            settings = with_ports(settings, parse_ports(ports))
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    runner = Demo(settings, workdir, echo=click.echo)
    stop_on_signals()
    try:
        say("Démarrage du forum local, de forumsync, du LMTP et du puits SMTP…")
        runner.start()
        runner.settings_file = write_settings_file(settings, workdir / "settings.py")
        runner.seed()
        runner.start_worker()
        say(runner.describe())
        threading.Event().wait()  # until Ctrl-C / SIGTERM (KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        say("Arrêt de la démo (forum local, web, worker, LMTP, puits SMTP)…")
        started = time.monotonic()
        waiting = runner.stop()
        if waiting:
            say("Arrêt sans attendre : " + ", ".join(waiting) + " (le travail en cours "
                       "reprendra au prochain démarrage ; rien n'est perdu).")
    say(f"Démo arrêtée ({time.monotonic() - started:.1f} s).")


COMMANDS = [demo]
