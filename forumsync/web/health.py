"""Health checks for the dashboard: each answers quickly (short timeouts) with a French verdict."""
from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select

from ..models import WebhookEvent, get_state, utcnow
from .dates import PARIS, paris_time

CHECK_TIMEOUT = 2.0
WORKER_STALE_SECONDS = 60
# The webhook blueprint records the last delivery under this StateValue key.
WEBHOOK_STATE_KEYS = ("webhook:last_received", "webhook:last")


@dataclass
class Check:
    key: str
    label: str
    ok: bool | None        # None: unknown / not configured
    detail: str
    fix: str = ""          # what to do about it, in French (doctor prints it)

    @property
    def css(self) -> str:
        return {True: "ok", False: "ko", None: "unknown"}[self.ok]


def age_fr(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"il y a {seconds} s"
    if seconds < 3600:
        return f"il y a {seconds // 60} min"
    if seconds < 86400:
        return f"il y a {seconds // 3600} h"
    return f"il y a {seconds // 86400} j"


def check_forum(settings) -> Check:
    from ..forum.gateway import ForumError, ForumGateway, ForumRejected

    gateway = ForumGateway(settings.FORUM_URL, settings.FORUM_API_KEY, settings.FORUM_API_USERNAME,
                           timeout=CHECK_TIMEOUT, retries=0, max_wait=0)
    try:
        categories = gateway.category_list()
    except ForumRejected as exc:
        if exc.status in (401, 403):
            return Check("forum", "Forum", False,
                         f"joignable, mais la clé d'API est refusée (HTTP {exc.status})",
                         "Vérifiez FORUM_API_KEY et FORUM_API_USERNAME (forumsync doctor détaille).")
        return Check("forum", "Forum", False, f"joignable, mais refuse la lecture : {exc}")
    except ForumError as exc:
        return Check("forum", "Forum", False, f"injoignable : {exc}",
                     "Vérifiez FORUM_URL et que le forum tourne.")
    return Check("forum", "Forum", True, f"joignable ({len(categories)} catégories)")


def _banner(host: str, port: int) -> str:
    with socket.create_connection((host, port), timeout=CHECK_TIMEOUT) as sock:
        sock.settimeout(CHECK_TIMEOUT)
        banner = sock.recv(512).decode("ascii", "replace").strip()
        try:
            sock.sendall(b"QUIT\r\n")
        except OSError:
            pass
    return banner


def check_lmtp(settings) -> Check:
    host, _, port = settings.LMTP_LISTEN.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    try:
        banner = _banner(host, int(port))
    except OSError as exc:
        return Check("lmtp", "Serveur LMTP", False, f"{settings.LMTP_LISTEN} n'écoute pas ({exc.__class__.__name__})",
                     "Démarrez « forumsync lmtp » (service forumsync-lmtp, docs/deploy.md) ou "
                     "corrigez LMTP_LISTEN.")
    ok = banner.startswith("220")
    return Check("lmtp", "Serveur LMTP", ok, f"{settings.LMTP_LISTEN} " + ("à l'écoute" if ok else f"réponse inattendue : {banner[:60]}"))


def check_smtp(settings) -> Check:
    parts = urlsplit(settings.SMTP_URL)
    port = parts.port or {"smtp": 25, "smtps": 465, "lmtp": 24}.get(parts.scheme, 25)
    where = f"{parts.hostname}:{port}"
    try:
        if parts.scheme == "smtps":
            with socket.create_connection((parts.hostname, port), timeout=CHECK_TIMEOUT):
                pass
            return Check("smtp", "Serveur de courrier sortant", True, f"{where} joignable")
        banner = _banner(parts.hostname, port)
    except OSError as exc:
        return Check("smtp", "Serveur de courrier sortant", False, f"{where} injoignable ({exc.__class__.__name__})",
                     "Vérifiez SMTP_URL et que Postfix écoute (systemctl status postfix).")
    ok = banner.startswith("220")
    return Check("smtp", "Serveur de courrier sortant", ok,
                 f"{where} " + ("joignable" if ok else f"réponse inattendue : {banner[:60]}"))


def _parse(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def check_webhook(session) -> Check:
    at = None
    for key in WEBHOOK_STATE_KEYS:
        state = get_state(session, key)
        if state:
            at = _parse(state.get("at"))
            if at:
                break
    if at is None:
        at = session.scalar(select(func.max(WebhookEvent.received_at)))
    if at is None:
        return Check("webhook", "Dernier webhook du forum", None, "aucun reçu pour l'instant")
    zone = ", heure de Paris" if PARIS else ""  # (paris_time says « UTC » itself without a zone database)
    return Check("webhook", "Dernier webhook du forum", True,
                 f"reçu {age_fr((utcnow() - at).total_seconds())} ({paris_time(at)}{zone})")


def check_worker(session) -> Check:
    beat = get_state(session, "worker:heartbeat")
    at = _parse(beat.get("at")) if beat else None
    if at is None:
        return Check("worker", "Worker", False, "aucun battement de cœur enregistré",
                     "Démarrez « forumsync worker » (service forumsync-worker) ou « forumsync serve ».")
    age = (utcnow() - at).total_seconds()
    ok = age <= WORKER_STALE_SECONDS
    return Check("worker", "Worker", ok,
                 ("actif" if ok else "silencieux") + f", dernier signe {age_fr(age)}",
                 "" if ok else "Regardez « journalctl -u forumsync-worker » et redémarrez le service.")


def run_checks(ctx) -> list[Check]:
    """All checks; the network ones run in parallel so the page answers within ~2 s."""
    settings = ctx.settings
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(check_forum, settings), pool.submit(check_lmtp, settings),
                   pool.submit(check_smtp, settings)]
        with ctx.db.session() as session:
            local = [check_webhook(session), check_worker(session)]
        network = [f.result() for f in futures]
    return network + local


def smtp_accepts(settings) -> Check:
    """The outgoing server says hello and accepts the bridge as sender (MAIL FROM, then RSET:
    nothing is sent). Doctor only: it takes a whole SMTP exchange."""
    import smtplib

    from ..outbound.smtp import connect

    label = "Serveur de courrier sortant : acceptation"
    try:
        connection = connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        return Check("smtp_accepts", label, False, f"connexion refusée : {exc}",
                     "Vérifiez SMTP_URL, SMTP_STARTTLS, SMTP_USERNAME/SMTP_PASSWORD.")
    try:
        connection.ehlo_or_helo_if_needed()
        code, text = connection.mail(settings.BRIDGE_ADDRESS)
        connection.rset()
    except (OSError, smtplib.SMTPException) as exc:
        return Check("smtp_accepts", label, False, f"échange interrompu : {exc}",
                     "Lisez le journal du serveur de courrier (journalctl -u postfix).")
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            pass
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if code == 250:
        return Check("smtp_accepts", label, True, f"accepte l'expéditeur {settings.BRIDGE_ADDRESS}")
    return Check("smtp_accepts", label, False,
                 f"refuse l'expéditeur {settings.BRIDGE_ADDRESS} : {code} {reply[:120]}",
                 "Autorisez forumsync à relayer (mynetworks ou authentification SASL dans Postfix).")


def doctor_checks(ctx) -> list[Check]:
    """Everything `forumsync doctor` reports: the dashboard's checks, SMTP acceptance and the
    forum's configuration (plugin, key, webhook, site settings, themes)."""
    from .forum_health import forum_checks

    checks = run_checks(ctx)
    index = next((i for i, c in enumerate(checks) if c.key == "smtp"), len(checks) - 1)
    if checks[index].ok:
        checks.insert(index + 1, smtp_accepts(ctx.settings))
    forum = next((c for c in checks if c.key == "forum"), None)
    if forum is not None and forum.ok is False and "injoignable" in forum.detail:
        return checks
    return checks + forum_checks(ctx)
