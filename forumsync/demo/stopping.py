"""Stopping the demo's parts at once: servers, worker, LMTP and the SMTP sink, within a
deadline, saying what is still running; and Ctrl-C / SIGTERM at any moment."""
from __future__ import annotations

import logging
import threading
import time

from ..services import WorkerThread, WsgiThread

log = logging.getLogger(__name__)
STOP_SECONDS = 2.5   # Ctrl-C: everything stops in parallel within this, else says what it waits for


def stop_all(parts: list, deadline: float = STOP_SECONDS) -> list[str]:
    """Stop every part at once; returns the names of those still running after DEADLINE
    seconds (their threads are daemons: the process exits anyway)."""
    names = {id(part): _part_name(part) for part in parts}
    threads = []
    for part in reversed(parts):
        thread = threading.Thread(target=_stop_quietly, args=(part,), daemon=True,
                                  name=f"stop-{names[id(part)]}")
        thread.start()
        threads.append((names[id(part)], thread))
    end = time.monotonic() + deadline
    for _name, thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    return [name for name, thread in threads if thread.is_alive()]


def _part_name(part) -> str:
    from ..inbound.lmtp import LMTPServer

    if isinstance(part, WsgiThread):
        return {"localforum": "le forum local", "forumsync-web": "l'application web"}.get(
            part.thread.name, part.thread.name)
    if isinstance(part, WorkerThread):
        return "le worker (message en cours de traitement)"
    if isinstance(part, LMTPServer):
        return "le serveur LMTP (message en cours d'enregistrement)"
    return "le puits SMTP de la liste"


def _stop_quietly(part) -> None:
    try:
        if isinstance(part, WsgiThread):
            _stop_wsgi(part)
        else:
            part.stop()
    except Exception:  # noqa: BLE001 - stopping is best effort; the others keep stopping
        log.debug("arrêt de %r", part, exc_info=True)


def _stop_wsgi(part: WsgiThread) -> None:
    """waitress keeps looping while keep-alive connections stay open (the forum's webhook
    session, a browser tab): close them all, and its task threads, instead of waiting."""
    from waitress import wasyncore

    server = part.server
    socket_map = getattr(server, "_map", None) or getattr(server, "map", None)
    server.close()
    if socket_map is not None:
        wasyncore.close_all(socket_map)
    dispatcher = getattr(server, "task_dispatcher", None)
    if dispatcher is not None:
        dispatcher.shutdown(cancel_pending=True, timeout=1)
    part.thread.join(2)


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the demo at any moment, seeding included (also when started
    from a script that ignored SIGINT)."""
    import signal

    def interrupt(*_):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupt)
