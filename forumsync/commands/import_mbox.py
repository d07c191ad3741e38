"""`forumsync import-mbox PATH…`: import a list's history, then wait for it to be processed.

Reading and storing is forumsync.inbound.mbox's job; this command adds the progress bar, runs
the pipeline worker in a thread while the archive is read (so the forum fills meanwhile),
waits until every message read is published, dropped or quarantined, and prints a French
summary.

Exit status (sysexits.h, as ``deliver``): 0 everything read was stored and, unless
``--store-only``, published or dropped for a known reason (duplicate, automatic reply…);
65 (EX_DATAERR) the import finished but messages were refused (not mail, too big…) or went
to quarantine, counted in the summary; 75 (EX_TEMPFAIL) messages still wait (``--max-wait``
reached, or interrupted while waiting); 1 an unreadable file; 130 interrupted while reading.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import click

from .terminal import say


log = logging.getLogger(__name__)
EX_DATAERR, EX_TEMPFAIL = 65, 75

FINAL_STATES = ("published", "dropped", "quarantined")
PENDING_STATES = ("new", "processing", "retry")


def fr_int(n: int) -> str:
    """1992 → « 1 992 » (non-breaking space, French style)."""
    return f"{n:,}".replace(",", "\u00a0")


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{fr_int(n)} {word if n <= 1 else (words or word + 's')}"


def inbox_states(ctx, ids) -> tuple[Counter, Counter, datetime | None]:
    """Counts by state and dropped reasons for the inbox rows IDS, and the next retry time."""
    from sqlalchemy import select

    from ..models import InboxMessage

    states, reasons, next_at = Counter(), Counter(), None
    ids = sorted(set(ids))
    with ctx.db.session() as session:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = session.execute(select(InboxMessage.state, InboxMessage.reason, InboxMessage.next_attempt_at)
                                   .where(InboxMessage.id.in_(chunk)))
            for state, reason, attempt_at in rows:
                states[state] += 1
                if state == "dropped":
                    reasons[reason or "(sans raison)"] += 1
                if state == "retry" and attempt_at is not None:
                    next_at = attempt_at if next_at is None else min(next_at, attempt_at)
    return states, reasons, next_at


def wait_until_final(ctx, worker, ids, max_wait: float | None) -> Counter:
    """Drain the worker until every row of IDS is in a final state (or MAX_WAIT elapses)."""
    started = time.monotonic()
    announced = None
    while True:
        worker.drain()
        states, _, next_at = inbox_states(ctx, ids)
        pending = sum(states[s] for s in PENDING_STATES)
        if not pending:
            return states
        if pending != announced:  # said before giving up too: a slow first round passes MAX_WAIT
            when = ""
            if next_at is not None:
                when = f" ; prochain essai à {next_at.astimezone().strftime('%H:%M:%S')}"
            say(f"En attente : {plural(pending, 'message')} à traiter ou à réessayer "
                       f"(forum indisponible ?){when}…", err=True)
            announced = pending
        if max_wait is not None and time.monotonic() - started > max_wait:
            return states
        delay = 1.0
        if next_at is not None:
            delay = (next_at - datetime.now(timezone.utc)).total_seconds()
        time.sleep(min(max(delay, 0.2), 5.0))


# Rows claimed at once by an import: fuller batches, and each topic read once per claim (a
# claim is done well within the runner's STALE_AFTER, 5 minutes: ~1 minute on a busy laptop).
IMPORT_CLAIM = 500


class InboxWorker:
    """The one queue an import fills: the inbox pipeline, in batches when the forum takes them
    (plugin capability ``batch_posts``). Not ``forumsync.worker.Worker``: its other tasks are
    the daemon's, and importing them cost ~25 MB of modules never used here (Flask, nh3…).
    A round that fails is logged; the rows it left claimed are released before the next."""

    def __init__(self, ctx):
        import os
        import socket

        self.ctx = ctx
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:import-mbox"
        self.failed = False

    def run_once(self) -> int:
        from .. import queues
        from ..pipeline import runner

        try:
            if self.failed:
                queues.release_claims_of(self.ctx.db, self.worker_id)
                self.failed = False
            return runner.run_pending(self.ctx, self.worker_id, limit=IMPORT_CLAIM, batch_threshold=1)
        except Exception:  # e.g. the database went away mid-claim: tried again next round
            log.exception("traitement de l'import en échec")
            self.failed = True
            return 0

    def drain(self) -> int:
        total = done = self.run_once()
        while done:
            done = self.run_once()
            total += done
        return total


class BackgroundPublisher:
    """Publishes what the import stored, in a thread, while the archive is still being read:
    the next messages are stored while the forum answers a batch. Each ``request()`` (one
    claim's worth stored) runs the worker's tasks once: full claims, in the order of the rows
    (SQLite serialises the two threads' writes). What is left is drained at the end."""

    def __init__(self, worker):
        self.worker = worker
        self.pending = threading.Semaphore(0)
        self.stopping = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="import-mbox-publish", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.pending.acquire()
            if self.stopping:
                return
            try:
                self.worker.run_once()
            except BaseException as exc:  # reported by finish(), in the command's thread
                self.error = exc
                return

    def request(self) -> None:
        self.pending.release()

    def finish(self) -> None:
        """Wait for the round under way (the rest is drained by the command)."""
        self.stopping = True
        self.pending.release()
        self.thread.join()
        if self.error is not None:
            raise self.error


@click.command("import-mbox")
@click.argument("paths", nargs=-1, required=True, metavar="FICHIERS...",
                type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "mboxrd", "mbox"]), default="auto",
              show_default=True, help="mboxrd : retire un « > » des lignes « >…From » ; mbox : seulement "
                                      "de « >From » ; auto : mboxrd.")
@click.option("--batch", default=100, show_default=True, type=click.IntRange(1),
              help="Messages stockés entre deux sauvegardes du curseur de reprise.")
@click.option("--limit", type=click.IntRange(1), help="S'arrêter après N messages lus (par fichier).")
@click.option("--store-only", is_flag=True,
              help="Stocker sans traiter : le processus « forumsync worker » s'en chargera.")
@click.option("--max-wait", type=float, metavar="SECONDES",
              help="Attente maximale du traitement (défaut : jusqu'au bout) ; au-delà, code de sortie 75.")
@click.option("--progress/--no-progress", default=None,
              help="Barre de progression (défaut : seulement dans un terminal).")
@click.pass_obj
def import_mbox(obj, paths, fmt, batch, limit, store_only, max_wait, progress):
    """Importe l'historique de la liste depuis des fichiers mbox (ou .mbox.gz), avec reprise."""
    from ..memory import fewer_malloc_arenas
    from ..pipeline.ahead_pool import fork_now, start_soon

    fewer_malloc_arenas()  # before the publisher and the pool start their threads
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The pool forked first, before any thread, the database and the modules only this side
    # uses (imported below); where it cannot, it starts while the first claim is read.
    forked = not store_only and fork_now(obj.context.settings)
    from tqdm import tqdm

    from ..inbound.mbox import import_file
    from ..inbound.mbox_errors import READ_ERRORS, unreadable_reason

    ctx = obj.open_database()  # before anything is read
    worker = None if store_only else InboxWorker(ctx)
    if worker is not None and not forked:
        start_soon(ctx.settings)
    reports = []
    publisher = None if worker is None else BackgroundPublisher(worker)
    try:
        for path in paths:
            bar = tqdm(total=path.stat().st_size, unit="o", unit_scale=True, unit_divisor=1024,
                       desc=path.name, file=sys.stderr, disable=None if progress is None else not progress,
                       dynamic_ncols=True)

            def on_message(report, position, bar=bar):
                bar.update(position - bar.n)
                bar.set_postfix_str(f"{fr_int(report.read)} messages", refresh=False)

            def after_batch(report, drained=[0]):
                # Publish once a claim's worth is stored: full batches, one users request each.
                if publisher is not None and len(report.new_ids) - drained[0] >= IMPORT_CLAIM:
                    drained[0] = len(report.new_ids)
                    publisher.request()

            try:
                with bar:
                    report = import_file(ctx, path, fmt=fmt, batch=batch, limit=limit,
                                         after_batch=after_batch, on_message=on_message)
                    if report.complete:
                        bar.update(bar.total - bar.n)
            except READ_ERRORS as exc:  # truncated or corrupt gzip, unreadable file
                raise click.ClickException(f"{path} : lecture impossible, {unreadable_reason(exc)} ; "
                                           f"les messages lus avant l'erreur sont enregistrés.") from None
            if not report.read and not report.already and path.stat().st_size:
                raise click.ClickException(f"{path} : aucun message trouvé ; un fichier mbox commence "
                                           f"par une ligne « From expéditeur date ».")
            reports.append(report)
            _file_line(report)
        if publisher is not None:
            publisher.finish()
    except KeyboardInterrupt:
        say("Interrompu : le curseur de reprise est enregistré ; relancez la même commande "
                   "pour continuer.", err=True)
        sys.exit(130)

    read = sum(r.read for r in reports)
    if not read:
        already = sum(r.already for r in reports)
        say(f"Rien de nouveau : {plural(already, 'message')} déjà "
                   f"{'importé' if already <= 1 else 'importés'}.")
        return
    ids = [i for r in reports for i in r.inbox_ids]
    new_ids = {i for r in reports for i in r.new_ids}
    if worker is not None:
        try:
            wait_until_final(ctx, worker, ids, max_wait)
        except KeyboardInterrupt:
            say("Attente interrompue : « forumsync worker » terminera le traitement.", err=True)
    pending, refused, quarantined = _summary(ctx, reports, new_ids, processed=worker is not None)
    if pending and worker is not None:
        sys.exit(EX_TEMPFAIL)  # --max-wait reached or interrupted; the worker will finish
    if refused or quarantined:
        said = [plural(refused, "message refusé", "messages refusés")] if refused else []
        said += [f"{plural(quarantined, 'message')} en quarantaine"] if quarantined else []
        say(f"Import terminé, mais {' et '.join(said)} : raisons dans le bilan ci-dessus, messages "
            f"en quarantaine dans « forumsync inbox list » (code de sortie {EX_DATAERR}).", err=True)
        sys.exit(EX_DATAERR)


def _file_line(report) -> None:
    parts = [plural(report.stored, "nouveau", "nouveaux"), plural(report.duplicates, "doublon")]
    refused = sum(report.refused.values())
    if refused:
        parts.append(plural(refused, "refusé"))
    resumed = f" (reprise après {plural(report.already, 'message')})" if report.already and report.read else ""
    restarted = " (fichier modifié : relu depuis le début)" if report.restarted else ""
    stopped = "" if report.complete else " ; arrêté avant la fin (relancez pour continuer)"
    say(f"{report.path.name} : {plural(report.read, 'message lu', 'messages lus')}{resumed}"
               f"{restarted} — {', '.join(parts)}{stopped}.", err=True)


def _summary(ctx, reports, ids, processed: bool) -> tuple[int, int, int]:
    """Print the summary; (waiting, refused, quarantined) message counts."""
    states, reasons, _ = inbox_states(ctx, ids)
    duplicates = sum(r.duplicates for r in reports)
    refused = Counter()
    for r in reports:
        refused.update(r.refused)
    lines = [f"Bilan : {plural(sum(r.read for r in reports), 'message lu', 'messages lus')}"]
    lines.append(f"  publiés : {fr_int(states['published'])}")
    lines.append(f"  écartés : {fr_int(states['dropped'])}")
    for reason, count in reasons.most_common():
        lines.append(f"    - {reason} : {fr_int(count)}")
    lines.append(f"  en quarantaine : {fr_int(states['quarantined'])}")
    lines.append(f"  doublons (déjà reçus) : {fr_int(duplicates)}")
    if refused:
        lines.append(f"  refusés : {fr_int(sum(refused.values()))}")
        for reason, count in refused.most_common():
            lines.append(f"    - {reason} : {fr_int(count)}")
    pending = sum(states[s] for s in PENDING_STATES)
    if pending:
        lines.append(f"  en attente de traitement : {fr_int(pending)}"
                     + ("" if processed else " (« forumsync worker » les traitera)"))
    say("\n".join(lines))
    return pending, sum(refused.values()), states["quarantined"]


COMMANDS = [import_mbox]
