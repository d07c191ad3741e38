"""Dashboard login: a password from settings, or DiscourseConnect SSO against the forum.

Sessions are Flask's signed cookies (itsdangerous, SECRET_KEY) holding a random session id
whose record lives on the server (a ``state_value`` row ``dashboard:session:<sha256 of the
id>``, at most SESSION_MAX_AGE old): logging out deletes the record, so a copied cookie stops
working at once, in every process. Every POST carries a CSRF token stored in the session
(``csrf_token()`` in templates; checked by ``check_csrf``).

DiscourseConnect (the forum as identity provider):
1. ``/sso`` stores a random nonce in the session and on the server, and redirects to
   ``FORUM_URL/session/sso_provider?sso=<base64 payload>&sig=<hex HMAC-SHA256(payload)>``
   with payload ``nonce=…&return_sso_url=WEB_URL/sso/retour``;
2. the forum redirects back to ``/sso/retour?sso=…&sig=…``: the signature is checked with
   DISCOURSE_CONNECT_SECRET (constant-time), the nonce must be the session's and its server
   record is consumed (single use, even with a copy of the cookie from before; 10 minutes),
   and the user must be an admin or a moderator of the forum.
Nothing here logs a password, a secret, a payload or a signature.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from functools import wraps
from urllib.parse import parse_qs, urlencode, urlsplit

from datetime import datetime, timedelta

from flask import abort, g, redirect, request, session, url_for
from sqlalchemy import delete
from werkzeug.security import check_password_hash

from ..models import StateValue, utcnow

log = logging.getLogger(__name__)

NONCE_MAX_AGE = 600
SESSION_PREFIX = "dashboard:session:"
SESSION_MAX_AGE = timedelta(hours=12)


# ------------------------------------------------------------------------------------ sessions
def _db():
    from ..app import current_context

    return current_context().db


def _session_key(sid: str) -> str:
    return SESSION_PREFIX + hashlib.sha256(sid.encode("utf-8")).hexdigest()


def current_user() -> dict | None:
    """The logged-in user, if the cookie's session id still has its record on the server."""
    if "dashboard_user" in g:
        return g.dashboard_user
    user = None
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        with _db().session() as db_session:
            row = db_session.get(StateValue, _session_key(sid))
            record = dict(row.value) if row is not None else None
        if record and _fresh(record.get("at")):
            user = {"name": record.get("name", ""), "via": record.get("via", "")}
    g.dashboard_user = user
    return user


def _fresh(at) -> bool:
    try:
        started = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return False
    return utcnow() - started < SESSION_MAX_AGE


def login_user(name: str, via: str) -> None:
    """A fresh session (id and CSRF token) at login: no session fixation."""
    session.clear()
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    with _db().session() as db_session:
        db_session.execute(delete(StateValue).where(StateValue.key.startswith(SESSION_PREFIX),
                                                    StateValue.updated_at < now - SESSION_MAX_AGE))
        db_session.add(StateValue(key=_session_key(sid), updated_at=now,
                                  value={"name": name, "via": via, "at": now.isoformat()}))
    session["sid"] = sid
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = False
    g.pop("dashboard_user", None)


def logout_user() -> None:
    """Forget the session on the server (a copy of the cookie is now worthless), then here."""
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        with _db().session() as db_session:
            db_session.execute(delete(StateValue).where(StateValue.key == _session_key(sid)))
    session.clear()
    g.pop("dashboard_user", None)


def safe_next(target: str | None) -> str:
    """A local path to go back to after login (never an external URL)."""
    if not target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.index")
    return target


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


# ------------------------------------------------------------------------------------ CSRF
def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Abort 400 unless the POSTed form carries the session's CSRF token."""
    expected = session.get("csrf")
    given = request.form.get("csrf_token", "") or request.headers.get("X-CSRF-Token", "")
    if not expected or not given or not hmac.compare_digest(expected, given):
        abort(400, description="Jeton de sécurité (CSRF) absent ou invalide : rechargez la page et recommencez.")


# ------------------------------------------------------------------------------------ password
def demo_mode(settings) -> bool:
    """True when no password is configured: password login is then refused (SSO only)."""
    return settings.DASHBOARD_PASSWORD_HASH is None


def check_password(settings, password: str) -> bool:
    if not password or settings.DASHBOARD_PASSWORD_HASH is None:
        return False
    try:
        return check_password_hash(settings.DASHBOARD_PASSWORD_HASH, password)
    except ValueError:  # a malformed hash in the settings
        log.error("DASHBOARD_PASSWORD_HASH n'est pas une empreinte werkzeug valide")
        return False


# ------------------------------------------------------------------------------------ DiscourseConnect
class SSOError(Exception):
    """A refused DiscourseConnect answer (French message shown on the login page)."""


def sso_sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).hexdigest()


def sso_encode(secret: str, fields: dict) -> tuple[str, str]:
    """(payload, sig) for FIELDS: base64 of the query string, and its hex HMAC-SHA256."""
    payload = base64.b64encode(urlencode(fields).encode("utf-8")).decode("ascii")
    return payload, sso_sign(secret, payload)


NONCE_PREFIX = "dashboard:sso-nonce:"


def _nonce_key(nonce: str) -> str:
    return NONCE_PREFIX + hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def sso_start_url(settings, return_url: str) -> str:
    """The forum's DiscourseConnect address. The nonce is kept in the session (this browser)
    and recorded on the server, whose record the answer consumes: a replayed answer, with
    the cookie from before it, finds no record (red team, eleventh pass)."""
    nonce = secrets.token_hex(16)
    now = utcnow()
    with _db().session() as db_session:
        db_session.execute(delete(StateValue).where(StateValue.key.startswith(NONCE_PREFIX),
                                                    StateValue.updated_at < now - timedelta(seconds=NONCE_MAX_AGE)))
        db_session.add(StateValue(key=_nonce_key(nonce), updated_at=now, value={"at": now.isoformat()}))
    session["sso_nonce"] = {"value": nonce, "at": int(time.time())}
    payload, sig = sso_encode(settings.DISCOURSE_CONNECT_SECRET,
                              {"nonce": nonce, "return_sso_url": return_url})
    return f"{settings.FORUM_URL}/session/sso_provider?" + urlencode({"sso": payload, "sig": sig})


def sso_verify(settings, payload: str, sig: str) -> dict:
    """The user fields of a signed DiscourseConnect answer; raises SSOError."""
    secret = settings.DISCOURSE_CONNECT_SECRET
    if not secret:
        raise SSOError("la connexion par le forum n'est pas configurée")
    if not payload or not sig:
        raise SSOError("réponse du forum incomplète")
    expected = sso_sign(secret, payload)
    if not hmac.compare_digest(expected, sig.strip().lower()):
        raise SSOError("signature de la réponse du forum invalide")
    try:
        fields = {k: v[0] for k, v in parse_qs(base64.b64decode(payload, validate=False).decode("utf-8"),
                                               keep_blank_values=True).items()}
    except (ValueError, UnicodeDecodeError):
        raise SSOError("réponse du forum illisible") from None
    stored = session.pop("sso_nonce", None)
    if not stored or not hmac.compare_digest(str(stored.get("value", "")), fields.get("nonce", "")):
        raise SSOError("réponse du forum inattendue (nonce inconnu ou déjà utilisé) : recommencez")
    with _db().session() as db_session:  # consumed once, whatever process answers
        consumed = db_session.execute(delete(StateValue).where(
            StateValue.key == _nonce_key(str(stored.get("value", ""))))).rowcount
    if consumed != 1:
        raise SSOError("réponse du forum inattendue (nonce inconnu ou déjà utilisé) : recommencez")
    if time.time() - stored.get("at", 0) > NONCE_MAX_AGE:
        raise SSOError("la connexion a expiré : recommencez")
    if fields.get("admin") != "true" and fields.get("moderator") != "true":
        raise SSOError("seuls les administrateurs et modérateurs du forum ont accès au tableau de bord")
    if not fields.get("username"):
        raise SSOError("réponse du forum sans nom d'utilisateur")
    return fields
