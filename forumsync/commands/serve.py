"""`forumsync serve`: the web service (webhooks, HTTP inbound, dashboard) and the worker."""
import signal
import threading

import click

from ..services import WorkerThread, WsgiThread, host_port, web_body_limit
from ..settings_secrets import demo_secrets_refusal
from .terminal import listen_error, say


@click.command("serve")
@click.option("--no-worker", is_flag=True, help="Ne pas lancer le worker dans ce processus.")
@click.pass_obj
def serve(obj, no_worker):
    """Sert l'application web sur WEB_URL (et lance le worker)."""
    from ..app import create_app

    ctx = obj.context
    refuse_demo_secrets(ctx.settings)
    ctx.db  # migrate before accepting requests
    if ctx.settings.WEB_LISTEN:  # behind a reverse proxy: WEB_URL is the public address
        host, _, port = ctx.settings.WEB_LISTEN.rpartition(":")
        host, port = host.strip("[]") or "127.0.0.1", int(port)
    else:
        host, port = host_port(ctx.settings.WEB_URL, 5000)
    app = create_app(context=ctx)
    try:
        web = WsgiThread(app, host, port, "forumsync-web", max_body_bytes=web_body_limit(ctx.settings)).start()
    except OSError as exc:
        raise listen_error(f"{host}:{port}", exc) from None
    worker = None if no_worker else WorkerThread(ctx).start()
    say(f"forumsync écoute sur {ctx.settings.WEB_URL}"
               + ("" if no_worker else " (worker actif)") + ". Ctrl-C pour arrêter.")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    say("Arrêt en cours…")
    web.stop()
    if worker:
        worker.stop()


COMMANDS = [serve]


def refuse_demo_secrets(settings) -> None:
    """Never face the network with the demo's well-known secrets (exit code 1, French)."""
    refusal = demo_secrets_refusal(settings)
    if refusal:
        raise click.ClickException(refusal)
