"""Load and validate a forumsync settings module.

Settings are a plain Python module of UPPERCASE names (see settings.example.py at the top
of the repository). Every key has a default and a validator here, so a typo or a wrong
type is reported with the key's name instead of surfacing later as a strange failure.
Nothing in forumsync reads settings at import time: commands load them and pass them on.
"""
from __future__ import annotations

import difflib
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit


class SettingsError(Exception):
    """A settings file that cannot be used; the message is French and names the key."""


# ---------------------------------------------------------------- validators
def _str(value):
    if not isinstance(value, str):
        raise ValueError("doit être une chaîne de caractères")
    return value


def _opt_str(value):
    return None if value is None else _str(value)


def _bool(value):
    if not isinstance(value, bool):
        raise ValueError("doit être True ou False")
    return value


def _int(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("doit être un nombre entier")
    return value


def _positive_int(value):
    if _int(value) < 0:
        raise ValueError("doit être un entier positif")
    return value


def _opt_positive_int(value):
    return None if value is None else _positive_int(value)


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("doit être un nombre")
    return float(value)


def _http_url(value):
    _str(value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("doit être une URL http(s)://hôte[:port]")
    return value.rstrip("/")


def _opt_host_port(value):
    return None if value is None else _host_port(value)


def _link_style(value):
    if value not in ("discourse", "localforum"):
        raise ValueError("doit valoir « discourse » ou « localforum »")
    return value


def _opt_http_url(value):
    return None if value is None else _http_url(value)


def _database_url(value):
    _str(value)
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
        raise ValueError("doit commencer par sqlite:// ou postgresql://")
    return value


def _email(value):
    _str(value)
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.?[^@\s<>]*", value):
        raise ValueError("doit être une adresse électronique (nom@domaine)")
    return value.lower()


def _host_port(value):
    _str(value)
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError("doit être de la forme hôte:port")
    return value


def _mail_url(value):
    _str(value)
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps", "lmtp") or not parts.hostname:
        raise ValueError("doit être smtp://hôte:port, smtps://hôte:port ou lmtp://hôte:port")
    return value


def _str_list(value):
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("doit être une liste de chaînes")
    return list(value)


def _list_of_dicts(value):
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, dict) for v in value):
        raise ValueError("doit être une liste de dictionnaires")
    return [dict(v) for v in value]


def _dict(value):
    if not isinstance(value, dict):
        raise ValueError("doit être un dictionnaire")
    return dict(value)


THEME_KEYS = {
    "slug": _str,
    "name": _str,
    "description": _str,
    "lead": _str,
    "lead_emails": _str_list,
    "tags": _str_list,
    "keywords": _str_list,
    "addresses": _str_list,
}
THEME_OPTIONAL = {"description": "", "lead": "", "lead_emails": [], "tags": [], "keywords": [],
                  "addresses": [], "color": None, "mirrored": True}


def _themes(value):
    themes = []
    seen = set()
    for index, theme in enumerate(_list_of_dicts(value)):
        where = f"THEMES[{index}]"
        for key in theme:
            if key not in THEME_KEYS and key not in THEME_OPTIONAL:
                raise ValueError(f"{where} : clé inconnue « {key} »"
                                 f" (clés possibles : {', '.join(THEME_KEYS)})")
        for key in ("slug", "name"):
            if key not in theme:
                raise ValueError(f"{where} : la clé « {key} » est obligatoire")
        clean = dict(THEME_OPTIONAL)
        clean.update(theme)
        for key, check in THEME_KEYS.items():
            try:
                clean[key] = check(clean[key])
            except ValueError as exc:
                raise ValueError(f"{where}.{key} {exc}") from None
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", clean["slug"]):
            raise ValueError(f"{where}.slug doit contenir seulement a-z, 0-9 et « - »")
        if clean["slug"] in seen:
            raise ValueError(f"{where}.slug « {clean['slug']} » est en double")
        seen.add(clean["slug"])
        clean["lead_emails"] = [e.lower() for e in clean["lead_emails"]]
        clean["addresses"] = [a.lower() for a in clean["addresses"]]
        themes.append(clean)
    return themes


def _catalogue_sources(value):
    sources = _list_of_dicts(value)
    for index, source in enumerate(sources):
        where = f"CATALOGUE_SOURCES[{index}]"
        for key in ("name", "collectivity", "type"):
            if not isinstance(source.get(key), str):
                raise ValueError(f"{where} : la clé « {key} » (chaîne) est obligatoire")
        kind = source["type"]
        if kind == "wcs-api":
            for key in ("url", "orig", "key"):
                if not isinstance(source.get(key), str):
                    raise ValueError(f"{where} : la clé « {key} » est obligatoire pour wcs-api")
            parts = urlsplit(source["url"])
            if parts.scheme not in ("http", "https") or not parts.hostname:  # no file://, ftp://…
                raise ValueError(f"{where}.url doit être une URL http(s)://hôte (reçu : "
                                 f"« {parts.scheme or 'sans schéma'}:// »)")
        elif kind in ("directory", "bundle"):
            if not isinstance(source.get("path"), str):
                raise ValueError(f"{where} : la clé « path » est obligatoire pour {kind}")
        else:
            raise ValueError(f"{where}.type « {kind} » inconnu (wcs-api, directory ou bundle)")
    return sources


@dataclass(frozen=True)
class Key:
    default: Any
    check: Callable[[Any], Any]
    doc: str = ""


# Every key forumsync knows. Defaults make the embedded demo work (SQLite, local forum).
KEYS: dict[str, Key] = {
    # storage
    "DATABASE_URL": Key("sqlite:///var/forumsync.sqlite3", _database_url),
    # forum
    "FORUM_URL": Key("http://127.0.0.1:4200", _http_url),
    "FORUM_API_KEY": Key("demo-api-key", _str),
    "FORUM_API_USERNAME": Key("system", _str),
    "FORUM_WEBHOOK_SECRET": Key("demo-webhook-secret", _str),
    "FORUM_NAME": Key("Bistro", _str),
    "FORUM_LINK_STYLE": Key("discourse", _link_style),
    "FORUM_TIMEOUT": Key(10.0, _number),
    "FORUM_RETRIES": Key(4, _positive_int),
    "FORUM_MAX_WAIT": Key(60.0, _number),
    "FORUM_BACKOFF": Key(0.5, _number),
    "FORUM_MAX_REQUESTS_PER_MINUTE": Key(60, _positive_int),
    "INBOX_BATCH_THRESHOLD": Key(20, _positive_int),
    "PIPELINE_POOL_SIZE": Key(None, _opt_positive_int),  # None: one process per CPU; 0: off
    # the list
    "LIST_ADDRESS": Key("club@listes.example.org", _email),
    "LIST_NAME": Key("Club Publik", _str),
    "LIST_TAG": Key("[club-publik]", _str),
    "LIST_FOOTER_PATTERNS": Key([], _str_list),
    "BRIDGE_ADDRESS": Key("bistro@forumsync.example.org", _email),
    "PARENT_CATEGORY": Key("Club Publik", _str),
    "DEFAULT_THEME": Key(None, _opt_str),
    "THEMES": Key([], _themes),
    "THEME_BODY_MIN_SCORE": Key(2, _positive_int),
    # web service
    "WEB_URL": Key("http://127.0.0.1:5000", _http_url),
    "WEB_LISTEN": Key(None, _opt_host_port),
    "SECRET_KEY": Key("change-me-demo-secret", _str),
    "INBOUND_TOKEN": Key("demo-inbound-token", _str),
    "DASHBOARD_PASSWORD_HASH": Key(None, _opt_str),
    # mail in and out
    "LMTP_LISTEN": Key("127.0.0.1:8024", _host_port),
    "SMTP_URL": Key("smtp://127.0.0.1:8025", _mail_url),
    "SMTP_USERNAME": Key(None, _opt_str),
    "SMTP_PASSWORD": Key(None, _opt_str),
    "SMTP_STARTTLS": Key(False, _bool),
    "REPLY_ADDRESS": Key(None, _opt_str),
    "REPLY_TOKEN_MAX_AGE_DAYS": Key(30, _positive_int),
    "AUTHSERV_ID": Key(None, _opt_str),
    "MAX_MESSAGE_BYTES": Key(25 * 1024 * 1024, _positive_int),
    "MAX_ATTACHMENT_BYTES": Key(10 * 1024 * 1024, _positive_int),
    "MAX_ATTACHMENTS": Key(20, _positive_int),
    "SUBJECT_THREAD_DAYS": Key(30, _positive_int),
    "EXPOSE_AUTHOR_EMAIL": Key(False, _bool),
    "SEND_EDIT_NOTICES": Key(False, _bool),
    # local forum
    "LOCALFORUM_DATABASE_URL": Key(None, _opt_str),
    "LOCALFORUM_WEBHOOK_URL": Key(None, _opt_http_url),
    "LOCALFORUM_RATE_LIMIT": Key(60, _positive_int),  # Discourse's max_admin_api_reqs_per_minute
    # catalogue
    "CATALOGUE_SOURCES": Key([], _catalogue_sources),
    "CATALOGUE_CATEGORY": Key("Catalogue des démarches", _str),
    "CATALOGUE_MATCH_THRESHOLD": Key(90.0, _number),
    "CATALOGUE_INTERVAL_MINUTES": Key(24 * 60, _positive_int),
    # community
    "SUBSCRIBER_SOURCES": Key([], _list_of_dicts),
    "COLLECTIVITIES": Key([], _list_of_dicts),
    "RELEASE_FEEDS": Key([], _list_of_dicts),
    "SUBSCRIBERS_INTERVAL_MINUTES": Key(15, _positive_int),
    "NEWCOMERS_DIGEST": Key(False, _bool),
    "RELEASES_INTERVAL_MINUTES": Key(60, _positive_int),
    "MEMBERS_GROUP": Key("membres", _str),
    "CLUB_EVENTS": Key([], _list_of_dicts),
    "DISCOURSE_CONNECT_SECRET": Key(None, _opt_str),
    "EXTRA": Key({}, _dict),
    # worker
    "WORKER_POLL_SECONDS": Key(1.0, _number),
}


class Settings:
    """Validated settings, read as attributes (``settings.FORUM_URL``)."""

    def __init__(self, values: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None):
        self._source = source
        self._base_dir = base_dir or Path.cwd()
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name not in KEYS:
                hint = difflib.get_close_matches(name, KEYS, n=1)
                extra = f" ; vouliez-vous dire « {hint[0]} » ?" if hint else ""
                raise SettingsError(f"{source} : clé de réglage inconnue « {name} »{extra}")
            try:
                clean[name] = KEYS[name].check(value)
            except ValueError as exc:
                raise SettingsError(f"{source} : réglage « {name} » invalide : {exc}") from None
        for name, key in KEYS.items():
            if name not in clean:
                clean[name] = key.check(key.default) if key.default is not None else None
        self._values = clean
        self._finish()

    def _finish(self):
        v = self._values
        v["DATABASE_URL"] = self._absolute_sqlite(v["DATABASE_URL"])
        if v["LOCALFORUM_DATABASE_URL"] is None:
            v["LOCALFORUM_DATABASE_URL"] = self._sibling_sqlite(v["DATABASE_URL"], "localforum")
        else:
            v["LOCALFORUM_DATABASE_URL"] = self._absolute_sqlite(v["LOCALFORUM_DATABASE_URL"])
        if v["LOCALFORUM_WEBHOOK_URL"] is None:
            v["LOCALFORUM_WEBHOOK_URL"] = v["WEB_URL"] + "/webhooks/discourse"
        slugs = {t["slug"] for t in v["THEMES"]}
        if v["DEFAULT_THEME"] is not None and slugs and v["DEFAULT_THEME"] not in slugs:
            raise SettingsError(f"{self._source} : réglage « DEFAULT_THEME » invalide : "
                                f"« {v['DEFAULT_THEME']} » n'est pas un thème de THEMES")
        if v["DEFAULT_THEME"] is None and v["THEMES"]:
            v["DEFAULT_THEME"] = v["THEMES"][0]["slug"]

    def _absolute_sqlite(self, url: str) -> str:
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            path = (self._base_dir / url[len(prefix):]).resolve()
            return prefix + str(path)
        return url

    @staticmethod
    def _sibling_sqlite(url: str, name: str) -> str:
        if url.startswith("sqlite:///") and ":memory:" not in url:
            path = Path(url[len("sqlite:///"):])
            return f"sqlite:///{path.with_name(path.stem + '-' + name + '.sqlite3')}"
        return f"sqlite:///{(Path.cwd() / 'var' / (name + '.sqlite3')).resolve()}"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"réglage inconnu {name}") from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def replace(self, **changes) -> "Settings":
        """A copy with some keys changed (used by tests and the demo)."""
        values = {k: v for k, v in self._values.items()}
        values.update(changes)
        if "DATABASE_URL" in changes and "LOCALFORUM_DATABASE_URL" not in changes:
            values["LOCALFORUM_DATABASE_URL"] = None
        if "WEB_URL" in changes and "LOCALFORUM_WEBHOOK_URL" not in changes:
            values["LOCALFORUM_WEBHOOK_URL"] = None
        return Settings(values, self._source, self._base_dir)

    @property
    def forum_host(self) -> str:
        return urlsplit(self.FORUM_URL).hostname or "localhost"

    @property
    def source(self) -> str:
        return self._source

    def theme(self, slug: str) -> dict | None:
        return next((t for t in self.THEMES if t["slug"] == slug), None)

    def __repr__(self):
        return f"<Settings {self._source}>"


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Load settings from PATH, else $FORUMSYNC_SETTINGS, else the built-in defaults."""
    path = path or os.environ.get("FORUMSYNC_SETTINGS")
    if not path:
        return Settings({}, "<défauts>")
    file = Path(path)
    if not file.is_file():
        raise SettingsError(f"fichier de réglages introuvable : {file}")
    spec = importlib.util.spec_from_file_location("forumsync_user_settings", file)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise SettingsError(f"{file} : erreur de syntaxe ligne {exc.lineno} : {exc.msg}") from None
    except Exception as exc:  # the user's module raised: report it, don't crash with a trace
        raise SettingsError(f"{file} : erreur à l'exécution du fichier : {exc!r}") from None
    values = {k: getattr(module, k) for k in dir(module) if k.isupper() and not k.startswith("_")}
    return Settings(values, str(file), file.resolve().parent)


# ---------------------------------------------------------------- secrets
# A key is a secret when its name ends with one of these words (REPLY_TOKEN_MAX_AGE_DAYS is not);
# inside lists of dicts (CATALOGUE_SOURCES, SUBSCRIBER_SOURCES…) the same rule applies to the
# dict's keys ("key", "password"…). Passwords inside URLs (DATABASE_URL…) are masked too.
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


# ---------------------------------------------------------------- demo secrets
# The defaults that make the demo run; anyone who reads this file knows them.
DEMO_SECRETS = ("FORUM_API_KEY", "FORUM_WEBHOOK_SECRET", "SECRET_KEY", "INBOUND_TOKEN")


def _on_loopback(url: str) -> bool:
    import ipaddress

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_secrets_refusal(settings: "Settings") -> str | None:
    """A French refusal when a service would face the network with secrets everyone knows
    (the demo defaults, or empty): FORUM_URL or WEB_URL off the loopback. None when fine."""
    exposed = [name for name in ("FORUM_URL", "WEB_URL") if not _on_loopback(getattr(settings, name))]
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
