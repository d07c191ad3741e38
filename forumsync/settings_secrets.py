"""Secrets in settings: masking them for display (check-settings) and refusing to serve the
network with the demo's well-known ones.

A key is a secret when its name ends with one of SECRET_SUFFIXES (REPLY_TOKEN_MAX_AGE_DAYS is
not); inside lists of dicts (CATALOGUE_SOURCES, SUBSCRIBER_SOURCES…) the same rule applies to
the dict's keys ("key", "password"…). Passwords inside URLs (DATABASE_URL…) are masked too.
"""
from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

SECRET_SUFFIXES = ("KEY", "SECRET", "PASSWORD", "TOKEN", "HASH")
MASK = "********"


def is_secret(name: str) -> bool:
    upper = name.upper()
    return any(upper == word or upper.endswith("_" + word) for word in SECRET_SUFFIXES)


def _mask_url_password(value: str) -> str:
    parts = urlsplit(value) if "://" in value else None
    if parts is None or "@" not in parts.netloc:
        return value
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if ":" not in userinfo:
        return value
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:{MASK}@{hostport}").geturl()


def displayed_value(name: str, value: Any) -> Any:
    """VALUE as check-settings may print it: secrets and URL passwords masked, recursively."""
    if is_secret(name):
        return MASK if value else value
    if isinstance(value, str):
        return _mask_url_password(value)
    if isinstance(value, dict):
        return {k: displayed_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [displayed_value("", v) for v in value]
    return value


# What the production template (deploy/settings.production.py) writes in place of each secret:
# a value that starts with it is never a secret (Settings refuses it, for every command).
PLACEHOLDER = "À REMPLACER"


def placeholder_refusal(name: str, value: Any) -> str | None:
    """Why VALUE of secret NAME cannot be used: the template's placeholder was left."""
    if is_secret(name) and isinstance(value, str) and value.strip().startswith(PLACEHOLDER):
        return (f"« {name} » garde le texte du modèle (« {PLACEHOLDER} … ») : donnez-lui sa vraie "
                f"valeur (un secret : python3 -c \"import secrets; print(secrets.token_urlsafe(32))\")")
    return None


# ---------------------------------------------------------------- demo secrets
# The defaults that make the demo run; anyone who reads this file knows them.
DEMO_SECRETS = ("FORUM_API_KEY", "FORUM_WEBHOOK_SECRET", "SECRET_KEY", "INBOUND_TOKEN")


def _on_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listens_on_loopback(listen: str | None) -> bool:
    """WEB_LISTEN ("host:port", "[::1]:port") binds the loopback only (unset: WEB_URL's host)."""
    if not listen:
        return True
    host = listen.rpartition(":")[0].strip("[]")
    return _on_loopback(f"http://[{host}]/" if ":" in host else f"http://{host}/")


def demo_secrets_refusal(settings) -> str | None:
    """A French refusal when a service would face the network with secrets everyone knows
    (the demo defaults, or empty): FORUM_URL or WEB_URL off the loopback, or WEB_LISTEN (the
    address ``serve`` binds) off it — 0.0.0.0 and :: are every address. None when fine."""
    from .settings import KEYS  # the table imports nothing from here

    exposed = [name for name in ("FORUM_URL", "WEB_URL") if not _on_loopback(getattr(settings, name))]
    if not _listens_on_loopback(settings.WEB_LISTEN):
        exposed.append("WEB_LISTEN")
    if not exposed:
        return None
    weak = [name for name in DEMO_SECRETS
            if not getattr(settings, name) or getattr(settings, name) == KEYS[name].default]
    if not weak:
        return None
    where = ", ".join(f"{name} = {getattr(settings, name)}" for name in exposed)
    return (f"refus de démarrer : {', '.join(weak)} "
            f"{'gardent leur valeur' if len(weak) > 1 else 'garde sa valeur'} de démonstration (ou vide) "
            f"alors que le service n'est pas limité à la boucle locale ({where}). Donnez-leur des "
            f"valeurs secrètes dans le fichier de réglages (par exemple : python3 -c "
            f"\"import secrets; print(secrets.token_urlsafe(32))\").")
