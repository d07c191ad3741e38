"""Mailman 3 archiver plugin: every message the list distributes is POSTed to forumsync.

Registered in mailman.cfg like mailman-hyperkitty::

    [archiver.forumsync]
    class: forumsync.inbound.mailman.Archiver
    enable: yes
    configuration: /etc/mailman3/forumsync-archiver.cfg

with ``[general] base_url: http://127.0.0.1:5000`` and ``token: <INBOUND_TOKEN>`` (optional:
``spool_dir``, ``timeout``, ``forum_url``). Mailman's archive runner drops a message whose
archiver raises, so nothing here raises on a forumsync outage: the message goes to a local
spool and every later call first sends the spool, oldest first. Runs inside Mailman's own
virtualenv, so only the standard library (plus Mailman and zope when present) is imported.
"""
from __future__ import annotations

import configparser
import hashlib
import http.client
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

try:  # inside Mailman
    from mailman.interfaces.archiver import IArchiver
    from zope.interface import implementer
except ImportError:  # forumsync's own venv: same class, no interface declaration
    IArchiver = None

    def implementer(*_interfaces):
        return lambda cls: cls

log = logging.getLogger("mailman.archiver")

# Answers that mean "this message will never be accepted": set aside, don't block the queue.
PERMANENT = {400, 413, 415, 422}


@dataclass
class ArchiverConfig:
    base_url: str
    token: str
    spool_dir: Path
    timeout: float = 10.0
    forum_url: str | None = None

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/inbound/mail?channel=mailman"


def read_config(path: str | os.PathLike) -> ArchiverConfig:
    """Parse the archiver's configuration file (``[general]`` section)."""
    parser = configparser.ConfigParser()
    if not parser.read(path):
        raise FileNotFoundError(f"configuration de l'archiveur forumsync introuvable : {path}")
    section = parser["general"]
    spool = section.get("spool_dir") or _default_spool()
    return ArchiverConfig(base_url=section["base_url"].strip(), token=section["token"].strip(),
                          spool_dir=Path(spool), timeout=section.getfloat("timeout", 10.0),
                          forum_url=(section.get("forum_url") or "").strip() or None)


def _default_spool() -> str:
    try:
        from mailman.config import config

        return os.path.join(config.VAR_DIR, "forumsync-spool")
    except Exception:  # outside Mailman
        return os.path.join(tempfile.gettempdir(), "forumsync-spool")


def _mailman_config_path() -> str:
    from mailman.config import config

    return config.archiver.forumsync.configuration


class Spool:
    """A directory of ``.eml`` files named so that sorting them gives arrival order."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.rejected = self.dir / "rejected"

    def put(self, raw: bytes) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{hashlib.sha1(raw).hexdigest()[:12]}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / name)
        return self.dir / name

    def items(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(self.dir.glob("*.eml"))

    def reject(self, path: Path) -> None:
        self.rejected.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, self.rejected / path.name)
        except FileNotFoundError:  # another flusher (cron, another runner) took it meanwhile
            pass


@implementer(IArchiver)
class Archiver:
    """IArchiver sending each archived message to forumsync's ``POST /inbound/mail``."""

    name = "forumsync"
    is_enabled = False

    def __init__(self, config_path: str | os.PathLike | None = None):
        self._config_path = config_path
        self._config: ArchiverConfig | None = None

    @property
    def config(self) -> ArchiverConfig:
        if self._config is None:
            path = self._config_path or _mailman_config_path()
            if str(path).startswith("python:"):
                from mailman.config.config import external_configuration

                parser = external_configuration(path)
                tmp = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
                with tmp:
                    parser.write(tmp)
                path = tmp.name
            self._config = read_config(path)
        return self._config

    @property
    def spool(self) -> Spool:
        return Spool(self.config.spool_dir)

    # -------------------------------------------------------------- IArchiver
    def list_url(self, mlist):
        """The forum, when configured (``forum_url``): that is where the list is archived."""
        return self.config.forum_url

    def permalink(self, mlist, msg):
        """None: the forum post's URL is only known once forumsync has processed the message."""
        return None

    def archive_message(self, mlist, msg):
        """Never raises (Mailman's runner would log « Broken archiver » and drop the message):
        whatever goes wrong, the message ends sent or spooled (red team, nineteenth pass)."""
        raw = _message_bytes(msg)
        if raw is None:
            return None
        try:
            if self.flush():
                outcome = self.send(raw)
                if outcome == "stored":
                    return None
                if outcome == "rejected":
                    self.spool.reject(self.spool.put(raw))
                    return None
        except Exception:  # the spool's files, an answer nobody expected: spooled below
            log.exception("forumsync : erreur imprévue de l'archiveur ; message mis en attente")
        try:  # unreachable, or failed on this one ("later"): sent next time
            path = self.spool.put(raw)
        except OSError:  # the spool itself fails (disk full): said loudly, never raised
            log.critical("forumsync : message %s ni envoyé ni mis en attente (tampon %s inutilisable)",
                         msg.get("Message-ID", "?"), self.config.spool_dir, exc_info=True)
            return None
        log.warning("forumsync : message mis en attente dans %s (forumsync injoignable)", path)
        return None

    # -------------------------------------------------------------- delivery
    def send(self, raw: bytes) -> str:
        """POST RAW; returns "stored", "rejected" (never acceptable), "later" (forumsync failed
        on this message) or "retry" (forumsync unreachable or unavailable)."""
        request = urllib.request.Request(self.config.endpoint, data=raw, method="POST", headers={
            "Authorization": f"Bearer {self.config.token}", "Content-Type": "message/rfc822"})
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                return "stored" if 200 <= response.status < 300 else "retry"
        except urllib.error.HTTPError as exc:
            if exc.code in PERMANENT:
                log.error("forumsync a refusé un message (HTTP %s) : %s", exc.code, _body(exc))
                return "rejected"
            if exc.code == 500:  # forumsync failed on this message: the others may go through
                log.error("forumsync n'a pas pu stocker un message (HTTP 500) ; gardé, nouvel essai plus tard")
                return "later"
            log.warning("forumsync a répondu HTTP %s ; nouvel essai plus tard", exc.code)
            return "retry"
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
            # (an answer that is not HTTP: a base_url on the wrong port, a proxy's garbage)
            log.warning("forumsync injoignable (%r) ; nouvel essai plus tard", exc)
            return "retry"

    def flush(self) -> bool:
        """Send the spool, oldest first; True when forumsync took all it could (the spool is
        empty but for messages it failed on). Stops at the first "retry" (forumsync
        unreachable or its storage down: the next ones would fail too); a message forumsync
        failed on ("later") stays spooled and the next ones go on, so one message cannot hold
        back the list behind it (red team, tenth pass)."""
        spool = self.spool
        for path in spool.items():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # another flusher sent it meanwhile
                continue
            outcome = self.send(raw)
            if outcome == "retry":
                return False
            if outcome == "later":
                continue
            if outcome == "rejected":
                spool.reject(path)  # kept for the operator, never silently lost
            else:
                path.unlink(missing_ok=True)  # another flusher may have sent and removed it too
        return True


def _message_bytes(msg) -> bytes | None:
    """MSG's bytes. A compat32 message with a non-ASCII ``str`` payload (a part a Mailman
    handler rewrote) cannot give them as_bytes: its text is taken in UTF-8 instead (red team,
    twentieth pass). None, said loudly, when nothing can be had."""
    if isinstance(msg, (bytes, bytearray)):
        return bytes(msg)
    try:
        return msg.as_bytes()
    except Exception:
        pass
    try:
        return msg.as_string().encode("utf-8", "surrogateescape")
    except Exception:
        log.critical("forumsync : message %s illisible, non transmis", msg.get("Message-ID", "?"),
                     exc_info=True)
        return None


def _body(exc: urllib.error.HTTPError) -> bytes:
    """The start of an error answer's body, or b"" when it cannot be read."""
    try:
        return exc.read()[:500]
    except Exception:
        return b""


def main(argv=None) -> int:
    """``python -m forumsync.inbound.mailman CONFIG``: send the spool now (cron, after an outage)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage : python -m forumsync.inbound.mailman /chemin/forumsync-archiver.cfg", file=sys.stderr)
        return 64
    archiver = Archiver(args[0])
    pending = len(archiver.spool.items())
    ok = archiver.flush()
    left = len(archiver.spool.items())
    print(f"{pending - left} message(s) envoyé(s), {left} en attente.")
    return 0 if ok else 75


if __name__ == "__main__":
    raise SystemExit(main())
