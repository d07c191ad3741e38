"""The LMTP channel: the MTA delivers the bridge's list subscription here (lists.sr.ht style).

Recipients are validated during the session (550 5.1.1 for anything but the list, the bridge
and its reply addresses: no relay), the size is announced (SIZE) and enforced in DATA
(552 5.3.4), and each recipient gets its 250 only once the message is stored — stored once,
whatever the number of recipients. A storage failure answers 451 4.3.0 so the MTA retries.
Replies are French. Their text keeps its accents only when the client gave SMTPUTF8 in its
MAIL command: RFC 5321 (4.2) makes reply text printable US-ASCII, and RFC 6531 (3.7.4.2)
allows UTF-8 there only within an SMTPUTF8 transaction; enhanced status codes (RFC 3463)
stay ASCII either way. Otherwise the text is folded to ASCII (« reçoit » → "recoit").
"""
from __future__ import annotations

import asyncio
import logging
import re
import threading
import unicodedata

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING

from .ingest import Refused, accepted_recipient, ingest, too_big_message

log = logging.getLogger(__name__)
# `forumsync lmtp -v`: aiosmtpd logs every DATA line at DEBUG (a 32 MB mail, 32 MB of log,
# private text included). That record is filtered out; each message's headers are logged
# instead, bounded.
HEADER_LOG_LINES = 60
HEADER_LOG_CHARS = 200


class _NoDataLines(logging.Filter):
    """Drops aiosmtpd's per-line DATA records (``DATA readline: …``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("DATA readline")


_NO_DATA_LINES = _NoDataLines()


def quiet_data_lines() -> None:
    """Install the filter on aiosmtpd's logger (idempotent)."""
    logger = logging.getLogger("mail.log")
    if _NO_DATA_LINES not in logger.filters:
        logger.addFilter(_NO_DATA_LINES)


def log_headers(raw: bytes, meta: dict) -> None:
    """One DEBUG record per message: envelope, size and the header block (at most
    HEADER_LOG_LINES lines of HEADER_LOG_CHARS characters), never the body."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    ends = [e for e in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if e >= 0]
    head = raw[:min(ends + [len(raw), HEADER_LOG_LINES * HEADER_LOG_CHARS * 4])]
    lines = head.decode("utf-8", "replace").splitlines()
    shown = [line[:HEADER_LOG_CHARS] for line in lines[:HEADER_LOG_LINES]]
    more = f"\n  … {len(lines) - len(shown)} autres lignes d'en-tête" if len(lines) > len(shown) else ""
    log.debug("LMTP : message de <%s> pour %s, %d octets ; en-têtes :\n  %s%s",
              meta.get("mail_from"), ", ".join(meta.get("recipients") or []), len(raw),
              "\n  ".join(shown), more)

# The SMTP answer for each ingest refusal.
REFUSAL_REPLIES = {
    "too_big": "552 5.3.4",
    "empty": "554 5.6.0",
    "not_mail": "554 5.6.0",
    "headers": "554 5.6.0",
    "not_for_list": "550 5.1.1",
}
# Long lines exist in real mail (Outlook HTML); RFC 5321's 1000 would bounce them.
LINE_LENGTH_LIMIT = 1024 * 1024
# The MTA delivers over a few connections (Postfix: 20 per destination by default); each
# connection may hold a DATA of up to MAX_MESSAGE_BYTES in memory, so their number is bounded
# (red team, tenth pass: 1,100 idle connections were all accepted). Beyond: "421", try later.
MAX_CONNECTIONS = 50
MAX_RECIPIENTS = 100  # per message (RFC 5321 4.5.3.1.8: a server takes at least 100)


def smtp_text(text: str, utf8: bool = False) -> str:
    """An SMTP reply line: French as written in an SMTPUTF8 transaction, else folded to ASCII."""
    if utf8:
        return text.replace("\r", " ").replace("\n", " ")
    text = re.sub(r"«[\s\u00a0\u202f]*", '"', text)
    text = re.sub(r"[\s\u00a0\u202f]*»", '"', text)
    text = text.replace("’", "'").replace("…", "...").replace("\u00a0", " ")
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c)).encode("ascii", "replace").decode()


class Handler:
    """aiosmtpd handler: RCPT validation and storage in DATA."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.inflight = 0
        self.stored = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:  # RFC 5321 4.5.3.1.8: at least 100 taken
            return smtp_text(f"452 4.5.3 Trop de destinataires pour un message (au plus "
                             f"{MAX_RECIPIENTS}) : envoyez les suivants à part.", envelope.smtp_utf8)
        if not accepted_recipient(self.ctx.settings, address):
            return smtp_text(f"550 5.1.1 <{address}> : destinataire inconnu ; ce serveur ne "
                             f"reçoit que le courrier de la liste {self.ctx.settings.LIST_ADDRESS} "
                             f"(pas de relais).", envelope.smtp_utf8)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        count = len(envelope.rcpt_tos)
        utf8 = envelope.smtp_utf8
        meta = {"recipients": list(envelope.rcpt_tos), "mail_from": envelope.mail_from or "",
                "peer": str(session.peer[0]) if session.peer else ""}
        log_headers(envelope.original_content or b"", meta)
        self.inflight += 1
        try:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, ingest, self.ctx, envelope.original_content,
                                                "lmtp", meta)
        except Refused as refused:
            line = smtp_text(f"{REFUSAL_REPLIES.get(refused.code, '554 5.6.0')} {refused.message_fr}", utf8)
            return "\r\n".join([line] * count)
        except Exception:  # database down, disk full…: the MTA keeps the message and retries
            log.exception("LMTP : stockage impossible")
            line = smtp_text("451 4.3.0 Stockage momentanément impossible, réessayez plus tard.", utf8)
            return "\r\n".join([line] * count)
        finally:
            self.inflight -= 1
        self.stored += not result.duplicate
        word = "déjà reçu" if result.duplicate else "enregistré"
        line = smtp_text(f"250 2.0.0 <{result.message_id}> {word} (id {result.inbox_id})", utf8)
        return "\r\n".join([line] * count)


class ForumsyncLMTP(LMTP):
    """aiosmtpd's LMTP with French, per-recipient size refusals, and at most MAX_CONNECTIONS
    connections at once (each may hold a DATA of up to MAX_MESSAGE_BYTES in memory)."""

    line_length_limit = LINE_LENGTH_LIMIT

    def __init__(self, handler, settings, connections: list | None = None, **kwargs):
        super().__init__(handler, data_size_limit=settings.MAX_MESSAGE_BYTES, enable_SMTPUTF8=True,
                         decode_data=False, ident="forumsync LMTP", **kwargs)
        self.forumsync_settings = settings
        self.connections = connections if connections is not None else [0]
        self.turned_away = False

    def connection_made(self, transport):
        if self.connections[0] >= MAX_CONNECTIONS:  # red team, tenth pass: no limit before
            self.turned_away = True
            transport.write(b"421 4.3.2 Trop de connexions en cours, reessayez plus tard.\r\n")
            transport.close()
            return
        self.connections[0] += 1
        super().connection_made(transport)

    def connection_lost(self, error):
        if self.turned_away:
            return
        self.connections[0] -= 1
        super().connection_lost(error)

    def data_received(self, data):
        if not self.turned_away:
            super().data_received(data)

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, the message kept in one buffer: aiosmtpd keeps a ``bytearray``
        per line (some 60 bytes each), so 25 MB of empty lines held 1.1 GB in this process
        before the final dot (red team, nineteenth pass). Same answers: 354, then the
        handler's, or 552 (too much data) / 500 (line too long, rewritten by ``push``)
        once the final dot is read."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        content, refusal = await self._read_data()
        if refusal is not None:
            await self.push(refusal)
        else:
            self.envelope.content = self.envelope.original_content = content
            status = await self._call_handler_hook("DATA")
            await self.push("250 OK" if status is MISSING else status)
        self._set_post_data_state()

    async def _read_data(self) -> tuple[bytes | None, str | None]:
        """(the message, None) once the final dot is read, dots unstuffed (RFC 5321 4.5.2);
        or (None, the refusal) when it is over the size limit or a line over the line limit
        (read to its end all the same, kept nowhere)."""
        buffer, size, refusal = bytearray(), 0, None
        limit = self.data_size_limit
        inside_line = False  # the last bytes read ended no line: what follows continues it
        while True:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as exc:  # a line longer than the reader's limit
                size += len(await self._reader.read(exc.consumed))
                refusal = refusal or "500 Line too long (see RFC5321 4.5.3.1.6)"
                buffer = bytearray()
                inside_line = True
                continue
            if inside_line:  # the end of that long line: never the final dot, even if ".\r\n"
                inside_line = False  # (red team, twentieth pass: the mail after it was read
                size += len(line)    # as LMTP commands, a second message smuggled in)
                continue
            if line == b".\r\n":
                break
            size += len(line)
            if refusal is None and limit and size > limit:
                refusal = "552 Error: Too much mail data"
            elif refusal is None and len(line) > self.line_length_limit:
                refusal = "500 Line too long (see RFC5321 4.5.3.1.6)"
            if refusal is not None:
                buffer = bytearray()
                continue
            buffer += memoryview(line)[1:] if line.startswith(b".") else line
        return (None, refusal) if refusal is not None else (bytes(buffer), None)

    def eof_received(self):
        return None if self.turned_away else super().eof_received()

    async def push(self, status):
        if isinstance(status, str):
            utf8 = bool(self.envelope and self.envelope.smtp_utf8)
            too_big = smtp_text(f"552 5.3.4 {too_big_message(self.forumsync_settings)}", utf8)
            if status.startswith("552 Error: message size exceeds"):
                status = too_big
            elif status.startswith("552 Error: Too much mail data"):
                status = "\r\n".join([too_big] * max(1, len(self.envelope.rcpt_tos)))
            elif status.startswith("500 Line too long") and self.envelope and self.envelope.rcpt_tos:
                line = smtp_text("554 5.6.0 Ligne trop longue dans le message.", utf8)
                status = "\r\n".join([line] * len(self.envelope.rcpt_tos))
        await super().push(status)


class LMTPServer:
    """An LMTP server in its own thread and event loop; ``port`` is the bound port (port 0 works)."""

    def __init__(self, ctx, host: str = "127.0.0.1", port: int = 0):
        self.ctx = ctx
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self.handler = Handler(ctx)
        self.connections = [0]  # open connections, shared by this server's protocol instances
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server = None
        self.thread: threading.Thread | None = None

    def _factory(self):
        return ForumsyncLMTP(self.handler, self.ctx.settings, connections=self.connections, loop=self.loop)

    def start(self) -> "LMTPServer":
        quiet_data_lines()
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            self.loop.create_server(self._factory, self.host, self.requested_port))
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, name="forumsync-lmtp", daemon=True)
        self.thread.start()
        log.info("LMTP en écoute sur %s:%s", self.host, self.port)
        return self

    def stop(self, grace: float = 30.0) -> None:
        """Stop accepting, let messages being stored finish (up to GRACE seconds), then close."""
        if self.loop is None:
            return

        async def shutdown():
            self.server.close()
            deadline = self.loop.time() + grace
            while self.handler.inflight and self.loop.time() < deadline:
                await asyncio.sleep(0.05)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_default_executor()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(grace + 10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.loop = None

    def __enter__(self):
        return self.start() if self.loop is None else self

    def __exit__(self, *exc):
        self.stop()


def start_lmtp_server(ctx, host: str = "127.0.0.1", port: int = 0) -> LMTPServer:
    """Start an LMTP server for CTX (demo and tests); call ``.stop()`` on the result."""
    return LMTPServer(ctx, host, port).start()
