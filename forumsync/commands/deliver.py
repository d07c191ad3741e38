"""`forumsync deliver`: one message on stdin, for an MTA pipe (Postfix ``pipe``, Exim, procmail).

The exit status follows sysexits.h, which MTAs understand: 0 stored (or already there),
65 the input is not a usable message (bounce), 67 unknown recipient, 75 storage unavailable or
settings unusable (the MTA keeps the message and retries: a bounce would lose list mail over a
fixable mistake, and the list would count the bridge's address as bouncing). The reason goes
to stderr in French.
"""
from __future__ import annotations

import logging
import sys

import click

from .terminal import say


EX_OK, EX_DATAERR, EX_NOUSER, EX_IOERR, EX_TEMPFAIL = 0, 65, 67, 74, 75
EXIT_BY_REFUSAL = {"empty": EX_DATAERR, "not_mail": EX_DATAERR, "too_big": EX_DATAERR,
                   "headers": EX_DATAERR, "not_for_list": EX_NOUSER}


def _fail(code: int, message: str):
    say(f"forumsync deliver : {message}", err=True)
    sys.exit(code)


def strip_from_line(raw: bytes) -> tuple[bytes, str | None]:
    """Remove the mbox ``From sender date`` line some MTAs prepend (Postfix pipe flag F)."""
    if raw.startswith(b"From "):
        line, _, rest = raw.partition(b"\n")
        return rest, line[5:].decode("utf-8", "replace").strip()
    return raw, None


class _DeliverCommand(click.Command):
    """A usage error defers the mail (exit 75) instead of click's 2, which an MTA's pipe
    bounces: a master.cf line that passes arguments deliver does not expect must not lose list
    mail."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = EX_TEMPFAIL
            raise


@click.command("deliver", cls=_DeliverCommand)
@click.option("--recipient", "recipients", multiple=True, metavar="ADRESSE",
              help="Destinataire de l'enveloppe (ex. ${recipient} de Postfix) ; vérifié s'il est donné.")
@click.option("--sender", metavar="ADRESSE", help="Expéditeur de l'enveloppe (ex. ${sender}).")
@click.argument("more_recipients", nargs=-1, metavar="[ADRESSE]...")
@click.pass_obj
def deliver(obj, recipients, sender, more_recipients):
    """Lit un message sur l'entrée standard et le stocke (pour un tube du serveur de courrier).
    Postfix développe ${recipient} en autant d'arguments que de destinataires : les adresses
    après la première sont lues aussi."""
    recipients = (*recipients, *more_recipients)
    from sqlalchemy.exc import SQLAlchemyError

    from ..db import DatabaseUnavailable
    from ..inbound.ingest import Refused, ingest
    from ..settings import SettingsError

    if not obj.settings_path:
        # The defaults are the demo's (its list address, a database in the current directory):
        # list mail would bounce as « destinataire inconnu » (67) and the list would count the
        # bridge's address as bouncing. Deferred until master.cf names the settings.
        _fail(EX_TEMPFAIL, "aucun fichier de réglages (--settings FICHIER ou FORUMSYNC_SETTINGS), "
                           "message non stocké : le serveur de courrier le garde et réessaiera. "
                           "Ajoutez --settings /etc/forumsync/settings.py avant « deliver » dans "
                           "la commande du tube (master.cf).")
    try:
        ctx = obj.context
    except (click.ClickException, SettingsError) as exc:
        # Deferred, not bounced: the MTA keeps the message until the settings are fixed (a
        # bounce would lose it, and the list would count the bridge's address as bouncing).
        _fail(EX_TEMPFAIL, f"réglages inutilisables, message non stocké : le serveur de courrier le "
                           f"garde et réessaiera une fois les réglages corrigés "
                           f"({getattr(exc, 'message', exc)})")
    limit = ctx.settings.MAX_MESSAGE_BYTES
    try:
        raw = sys.stdin.buffer.read(limit + 4096)
        overflow = bool(sys.stdin.buffer.read(1)) if len(raw) > limit else False
    except OSError as exc:
        _fail(EX_IOERR, f"lecture de l'entrée standard impossible : {exc}")
    raw, from_line = strip_from_line(raw)
    meta = {}
    if recipients:
        meta["recipients"] = list(recipients)
    if sender:
        meta["mail_from"] = sender
    if from_line:
        meta["from_line"] = from_line
    if overflow:
        raw = raw + b"\0"  # already over the limit: let ingest refuse it with its usual message
    try:
        ctx.db  # noqa: B018 - opens and migrates; failures are storage failures
        result = ingest(ctx, raw, "stdin", meta)
    except Refused as refused:
        _fail(EXIT_BY_REFUSAL.get(refused.code, EX_DATAERR), refused.message_fr)
    except DatabaseUnavailable as exc:
        _fail(EX_TEMPFAIL, f"stockage momentanément impossible, réessayez plus tard ({exc}).")
    except (SQLAlchemyError, OSError) as exc:
        _fail(EX_TEMPFAIL, f"stockage momentanément impossible, réessayez plus tard "
                           f"({exc.__class__.__name__}).")
    except Exception as exc:  # a fault of ours: the MTA keeps the message (no traceback in a bounce)
        logging.getLogger(__name__).exception("deliver : message non stocké")
        _fail(EX_TEMPFAIL, f"erreur interne, message non stocké : le serveur de courrier le garde et "
                           f"réessaiera ({exc.__class__.__name__}).")
    state = "déjà reçu" if result.duplicate else "enregistré"
    say(f"forumsync deliver : message <{result.message_id}> {state} (id {result.inbox_id}).", err=True)
    sys.exit(EX_OK)


COMMANDS = [deliver]
