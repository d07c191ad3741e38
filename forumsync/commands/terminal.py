"""What the CLI prints: text from mail (or from the forum, a feed, an export) reaches the
operator's terminal inert.

An encoded word decodes to any character, ESC and BEL included: a Subject could clear the
screen, retitle the terminal, rewrite the line above it (the state of another message) or,
with OSC 52, write the operator's clipboard. Every CLI line goes through ``say``: C0 and C1
control characters (line feeds and tabs aside), DEL and the bidi controls are shown as their
escapes (``\\x1b``), never sent (red-team pass 13); and so does every log record the CLI's
handler writes (``PrintableFormatter``: Message-IDs, header lines and reasons are mail text,
red-team pass 14).
"""
from __future__ import annotations

import logging
import re
import sys

import click

# C0 but "\t" and "\n", DEL, C1; the bidi embeddings, overrides, isolates and marks.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """TEXT with every control character written as its escape (``\\x1b``, ``\\u202e``)."""
    text = "" if text is None else str(text)
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def say(message="", err: bool = False) -> None:
    """``click.echo`` of MESSAGE made printable."""
    click.echo(printable(message), err=err)


def write_raw(raw: bytes) -> None:
    """A stored message as received: bytes for a pipe or a file (``> message.eml``), made
    printable for a terminal."""
    if sys.stdout.isatty():
        say(raw.decode("utf-8", "replace").replace("\r\n", "\n"))
        return
    sys.stdout.buffer.write(raw)
    sys.stdout.flush()


class PrintableFormatter(logging.Formatter):
    """A log record formatted as usual, then made printable (tracebacks keep their lines)."""

    def format(self, record) -> str:
        return printable(super().format(record))


# What a socket that cannot listen says, in French (the OS's own text is English, and asyncio's
# « error while attempting to bind on address … » too).
_LISTEN_ERRORS = {
    "EADDRINUSE": "adresse déjà utilisée : un autre processus écoute sur ce port (arrêtez-le ou "
                  "choisissez un autre port)",
    "EACCES": "permission refusée (un port inférieur à 1024 demande des droits d'administration)",
    "EADDRNOTAVAIL": "cette adresse n'est pas celle d'une interface de cette machine",
}


def listen_error(address: str, exc: OSError) -> click.ClickException:
    """« impossible d'écouter sur ADDRESS : … » for EXC, in French when its cause is known."""
    import errno as errnos

    name = errnos.errorcode.get(exc.errno or 0, "")
    if not name and "address already in use" in str(exc).lower():  # asyncio's composite error
        name = "EADDRINUSE"
    reason = _LISTEN_ERRORS.get(name) or (f"{exc.__class__.__name__} {name}".strip() + f" ({exc})")
    return click.ClickException(f"impossible d'écouter sur {address} : {reason}")
