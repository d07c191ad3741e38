"""Hand mail to the list's mail server: ``smtp://``, ``smtps://`` or ``lmtp://`` (SMTP_URL).

``smtp://`` honours SMTP_STARTTLS; SMTP_USERNAME/SMTP_PASSWORD log in when set. ``lmtp://host:port``
or ``lmtp:///path/to/socket`` speaks LMTP (e.g. straight into Mailman's LMTP runner).
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

TIMEOUT = 30.0
DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "lmtp": 24}


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying will not help."""


@dataclass
class SendResult:
    refused: dict  # recipient -> (code, message) for recipients refused while others accepted


def connect(settings, timeout: float = TIMEOUT) -> smtplib.SMTP:
    """An open, authenticated connection according to SMTP_URL and the STARTTLS/auth settings."""
    parts = urlsplit(settings.SMTP_URL)
    scheme = parts.scheme
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[scheme]
    if scheme == "lmtp":
        path = unquote(parts.path or "")
        conn = smtplib.LMTP(timeout=timeout)  # ehlo() sends LHLO
        if path and path != "/" and not host:
            conn.connect(path)  # unix socket
        else:
            conn.connect(host, port)
    elif scheme == "smtps":
        conn = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = smtplib.SMTP(host, port, timeout=timeout)
        if settings.SMTP_STARTTLS:
            conn.starttls(context=ssl.create_default_context())
    try:
        if settings.SMTP_USERNAME:
            conn.login(settings.SMTP_USERNAME, settings.SMTP_PASSWORD or "")
    except Exception:
        conn.close()
        raise
    return conn


def send(settings, sender: str, recipients: list[str], raw: bytes,
         connection: smtplib.SMTP | None = None) -> SendResult:
    """Hand one message over; raises PermanentFailure on 5xx, other exceptions are transient."""
    own = connection is None
    conn = connection or connect(settings)
    try:
        try:
            refused = conn.sendmail(sender, list(recipients), raw)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"destinataires refusés : {_describe(exc.recipients)}") from exc
            raise
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"refus définitif {exc.smtp_code} : {_decode(exc.smtp_error)}") from exc
            raise
        return SendResult(refused=dict(refused or {}))
    finally:
        if own:
            try:
                conn.quit()
            except Exception:  # the message is handed over; a failed QUIT changes nothing
                conn.close()


def _decode(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(refused: dict) -> str:
    return ", ".join(f"{rcpt} ({code} {_decode(msg)})" for rcpt, (code, msg) in refused.items())
