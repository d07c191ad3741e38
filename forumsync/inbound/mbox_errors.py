"""Why an archive could not be read, in French: the operator reads it, not Python's English.

gzip reports a cut archive as EOFError, a bad header as BadGzipFile, and damaged compressed
data as zlib.error (not an OSError: it escaped ``import-mbox``'s handler as a traceback).
"""
from __future__ import annotations

import errno
import gzip
import zlib

# What reading an archive may raise besides the messages' own problems.
READ_ERRORS = (OSError, EOFError, zlib.error)

_ERRNO = {errno.EACCES: "permission refusée", errno.EPERM: "opération non permise",
          errno.EIO: "erreur d'entrée-sortie du disque", errno.ENOENT: "fichier disparu pendant la lecture",
          errno.EISDIR: "c'est un répertoire"}


# gzip's words for a bad header (Lib/gzip.py, _read_gzip_header); its other BadGzipFile
# errors are about the data after it.
_HEADER_ERRORS = ("Not a gzipped file", "Unknown compression method")


def unreadable_reason(exc: BaseException) -> str:
    """A French sentence for EXC, Python's own words kept after « Python dit » for support."""
    if isinstance(exc, EOFError):
        why = "archive compressée tronquée : elle s'arrête avant la fin (copie ou téléchargement incomplet ?)"
    elif isinstance(exc, gzip.BadGzipFile) and not str(exc).startswith(_HEADER_ERRORS):
        # « CRC check failed », « Incorrect length of data produced »: the header was read, the
        # data is damaged (an « en-tête invalide » sent the operator looking at the wrong end)
        why = "archive compressée endommagée : contrôle d'intégrité gzip en échec (données altérées)"
    elif isinstance(exc, gzip.BadGzipFile):
        why = "archive compressée illisible : en-tête gzip invalide"
    elif isinstance(exc, zlib.error):
        why = "archive compressée endommagée : données gzip invalides"
    elif isinstance(exc, OSError) and exc.errno in _ERRNO:
        why = _ERRNO[exc.errno]
    else:
        why = "erreur de lecture"
    said = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    return f"{why} (Python dit : {said})" if said else why
