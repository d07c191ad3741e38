"""`forumsync lmtp`: serve the LMTP channel until SIGTERM/SIGINT."""
from __future__ import annotations

import ipaddress
import os
import signal
import socket
import threading
from pathlib import Path

import click

from .terminal import listen_error, say



def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except OSError:
            return False


@click.command("lmtp")
@click.option("--listen", metavar="HÔTE:PORT", help="Adresse d'écoute (défaut : LMTP_LISTEN ; port 0 = libre).")
@click.option("--ready-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Fichier écrit (« hôte:port ») une fois le serveur à l'écoute.")
@click.option("--allow-remote", is_flag=True,
              help="Autoriser une adresse d'écoute non locale (le LMTP n'a pas d'authentification).")
@click.pass_obj
def lmtp(obj, listen, ready_file, allow_remote):
    """Serveur LMTP : reçoit le courrier de la liste et le stocke avant d'acquitter."""
    from ..inbound.lmtp import LMTPServer

    ctx = obj.context
    listen = listen or ctx.settings.LMTP_LISTEN
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise click.ClickException(f"adresse d'écoute invalide « {listen} » (attendu hôte:port)")
    host = host.strip("[]")
    if not allow_remote and not _is_loopback(host):
        raise click.ClickException(f"« {host} » n'est pas une adresse locale : le serveur LMTP n'a pas "
                                   f"d'authentification ; utilisez --allow-remote si c'est voulu.")
    obj.open_database()  # before anything is accepted
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server = LMTPServer(ctx, host, int(port)).start()
    except OSError as exc:
        raise listen_error(listen, exc) from None
    try:
        say(f"Serveur LMTP à l'écoute sur {host}:{server.port} (arrêt : Ctrl-C ou SIGTERM)", err=True)
        if ready_file:
            tmp = ready_file.with_name(ready_file.name + ".tmp")
            tmp.write_text(f"{host}:{server.port}\n", encoding="utf-8")
            os.replace(tmp, ready_file)
        while not stop.wait(3600):
            pass
        say("Arrêt demandé : fin des sessions en cours…", err=True)
    finally:
        server.stop()
    say(f"Serveur LMTP arrêté ({server.handler.stored} message(s) enregistré(s)).", err=True)


COMMANDS = [lmtp]
