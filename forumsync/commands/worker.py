"""`forumsync worker`: drain the durable queues (inbox, webhook events, outbox) until stopped."""
import signal

import click

from .serve import refuse_demo_secrets
from .terminal import say


@click.command("worker")
@click.option("--once", is_flag=True, help="Traiter ce qui attend puis s'arrêter.")
@click.pass_obj
def worker(obj, once):
    """Traite les messages en attente (liste → forum, forum → liste) jusqu'à Ctrl-C."""
    from ..worker import Worker

    ctx = obj.context
    refuse_demo_secrets(ctx.settings)
    ctx.db  # migrate before working
    runner = Worker(ctx)
    if once:
        handled = runner.drain()
        say(f"{handled} élément(s) traité(s).")
        return
    previous = {}

    def stop(signum, _frame):
        say("Arrêt demandé : fin du lot en cours…")
        runner.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, stop)
    say(f"Worker {runner.worker_id} démarré. Ctrl-C pour arrêter.")
    try:
        runner.run_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say("Worker arrêté.")


COMMANDS = [worker]
